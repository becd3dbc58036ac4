"""Stories of the compile cache: a restart after someone (or a bad disk) changed the
bytes of a cached component must not crash (trusted, corrupt code died with SIGSEGV),
nor refuse the good `.wasm` (trusted, corrupt data made `info()` trap): the entry fails
its integrity check, the log names it, and the component is compiled afresh."""

import struct

import httpx
import pytest

from plugboard_server import provider

MODEL = "cache-mock"


def elf_section(entry: bytes, name: str) -> range:
    """Byte range of ELF section `name` in a cache entry (wasmtime's artifact is an ELF
    image: code in `.text`, wasm data segments in `.rodata.wasm`)."""
    start = entry.index(b"\x7fELF")
    elf = entry[start:]
    table, = struct.unpack_from("<Q", elf, 0x28)
    size, count, names_index = struct.unpack_from("<HHH", elf, 0x3A)
    names, = struct.unpack_from("<Q", elf, table + names_index * size + 0x18)
    for index in range(count):
        header = table + index * size
        name_at, = struct.unpack_from("<I", elf, header)
        section = elf[names + name_at: elf.index(b"\0", names + name_at)].decode()
        offset, length = struct.unpack_from("<QQ", elf, header + 0x18)
        if section == name and length:
            return range(start + offset, start + offset + length)
    raise AssertionError(f"no section {name} in the entry")


def chat(server) -> httpx.Response:
    return httpx.post(
        server.base_url + "/v1/chat/completions",
        headers={"authorization": f"Bearer {server.api_key}"},
        json={"model": MODEL, "messages": [{"role": "user", "content": "hello"}]},
        timeout=15,
    )


@pytest.mark.parametrize("section", [".text", ".rodata.wasm"], ids=["code", "data"])
def test_a_corrupt_cached_component_is_recompiled_not_run(launch, mock, tmp_path, section):
    cache = tmp_path / "shared-cache"
    providers = [provider("cached", "openai", mock, [MODEL])]
    first = launch(providers, **{"cache-dir": str(cache)})
    assert chat(first).status_code == 200
    first.stop()
    entries = sorted(cache.glob("*.cwasm"))
    assert entries, f"nothing cached in {cache}"
    for entry in entries:
        data = bytearray(entry.read_bytes())
        # Every byte of the section: one flipped byte may land where nothing reads it.
        for at in elf_section(bytes(data), section):
            data[at] ^= 0xFF
        entry.write_bytes(bytes(data))

    restarted = launch(providers, **{"cache-dir": str(cache)})

    assert chat(restarted).status_code == 200, "the openai adapter was recompiled and serves"
    log = restarted.log_text()
    for entry in entries:
        assert f"compile cache entry {entry} failed its integrity check; recompiling" in log, log[-4000:]
    assert restarted.proc.poll() is None, "still running"
