"""The log check every server of the suite passes when it stops (`Plugboard.stop`):
it finds a secret of the config or of an account file in the log, and names where
without printing it."""

import json

import pytest

from mock_upstream import OPENAI_KEY
from plugboard_server import Plugboard


def test_a_secret_in_a_log_is_found_and_not_printed(tmp_path):
    auth = tmp_path / "auth"
    auth.mkdir()
    refreshed = "rt-refreshed-token-0123456789"
    (auth / "codex-me.json").write_text(json.dumps({"type": "codex", "tokens": {"refresh_token": refreshed}}))
    server = Plugboard(tmp_path, [{"name": "p", "adapter": "openai", "api-keys": [OPENAI_KEY]}],
                       **{"auth-dir": str(auth), "management": {"key": "mgmt-key-for-the-scan"}})

    server.log_path.write_text("INFO plugboard: nothing to see\n")
    server.assert_no_secret_logged()

    for secret in (OPENAI_KEY, refreshed, "mgmt-key-for-the-scan"):
        server.log_path.write_text(f"TRACE hyper: header authorization: Bearer {secret}\n")
        with pytest.raises(AssertionError) as caught:
            server.assert_no_secret_logged()
        assert "1 secret(s)" in str(caught.value)
        assert secret not in str(caught.value)
