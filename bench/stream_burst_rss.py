"""RSS of a `plugboard serve` idle, then 3 s after 1,000 concurrent streams ended, with
the largest mappings then. A scripted upstream streams 10 Chat chunks over 2 s.

    python3 bench/stream_burst_rss.py target/debug/plugboard target/adapters ["limits: {...}"]
"""
import asyncio, json, os, subprocess, sys, tempfile, time

binary, adapters = sys.argv[1], sys.argv[2]
EXTRA = sys.argv[3] if len(sys.argv) > 3 else ""
N = 1000

def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

CHUNK = "data: " + json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
    "choices": [{"index": 0, "delta": {"content": "word " * 20}, "finish_reason": None}]}) + "\n\n"

async def upstream(reader, writer):
    head = await reader.readuntil(b"\r\n\r\n")
    length = next((int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")), 0)
    await reader.readexactly(length)
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n")
    for _ in range(10):
        writer.write(CHUNK.encode()); await writer.drain(); await asyncio.sleep(0.2)
    writer.write(b"data: [DONE]\n\n"); await writer.drain(); writer.close()

async def client(port, body):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write((f"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-measure\r\n"
                  f"content-type: application/json\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n").encode() + body)
    await writer.drain()
    data = await reader.read()
    writer.close()
    return b"[DONE]" in data

async def main():
    server = await asyncio.start_server(upstream, "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    work = tempfile.mkdtemp()
    open(f"{work}/c.yaml", "w").write(f"""listen: 127.0.0.1:0
api-keys: [sk-measure]
adapters-dir: {adapters}
cache-dir: {work}/cache
{EXTRA}
providers:
  - {{name: up, adapter: openai, base-url: 'http://127.0.0.1:{port}/v1', api-keys: [sk-up-123456789], models: [m]}}
""")
    p = subprocess.Popen([binary, "serve", "--config", f"{work}/c.yaml"], stdout=subprocess.PIPE, stderr=open(f"{work}/log","w"), env={**os.environ, "RUST_LOG": "plugboard::server=debug,info"}, text=True)
    url = next(w for w in p.stdout.readline().split() if w.startswith("http://"))
    pb_port = int(url.rsplit(":", 1)[1])
    body = json.dumps({"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}).encode()
    await client(pb_port, body)  # warm: instances, connection pool
    await asyncio.sleep(2)
    idle = rss_mb(p.pid)
    ok = await asyncio.gather(*[client(pb_port, body) for _ in range(N)])
    await asyncio.sleep(3)
    after = rss_mb(p.pid)
    regions = []; cur = None
    for line in open(f"/proc/{p.pid}/smaps"):
        parts = line.split()
        if "-" in parts[0] and len(parts) >= 5 and not parts[0].endswith(":"):
            cur = [line.strip()[:90], 0]; regions.append(cur)
        elif parts[0] == "Rss:":
            cur[1] = int(parts[1])
    regions.sort(key=lambda r: -r[1])
    for name, kb in regions[:6]:
        print(f"  {kb/1024:7.1f} MB  {name}")
    p.terminate(); p.wait(timeout=30)
    print("trims logged:", open(f"{work}/log").read().count("freed heap given back"))
    print(f"idle {idle:.1f} MB; after {N} streams ({sum(ok)} complete) + 3 s quiet: {after:.1f} MB")

asyncio.run(main())
