"""Rule 1: the sender's address is written nowhere, nor are values the policy drops.

Reports arrive from REMOTE_ADDR 198.51.100.77 with X-Forwarded-For 203.0.113.9,
carrying a distinctive browser language and screen height. Afterwards a dump of
the database and every log line (the application's, and the production server's)
must contain none of them.
"""

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.ingest.helpers import post_report
from tests.servers import free_port, production_server_env
from tests.support import ROOT, database_dump, pg_dump

SENDER = "198.51.100.77"
FORWARDED = "203.0.113.9"
LANGUAGE = "qaa-PRIVACYPROBE"
SCREEN_HEIGHT = 7331
SECRETS = (SENDER, FORWARDED, LANGUAGE, str(SCREEN_HEIGHT))


def probe_payload(platform_id: str) -> dict:
    payload = json.loads((ROOT / "tests/fixtures/velaux/typical-chrome.json").read_text())
    payload["platformID"] = platform_id
    payload["browserInfo"].update(language=LANGUAGE, screenHeight=SCREEN_HEIGHT)
    return payload


@pytest.mark.django_db(transaction=True)
def test_no_address_or_dropped_value_reaches_the_database_or_the_logs(client, caplog, capfd):
    caplog.set_level("DEBUG")
    address = {
        "REMOTE_ADDR": SENDER,
        "HTTP_X_FORWARDED_FOR": FORWARDED,
        "HTTP_X_REAL_IP": SENDER,
        "HTTP_FORWARDED": f"for={FORWARDED}",
    }
    for index in range(3):
        assert post_report(client, probe_payload(f"probe{index}"), **address).status_code == 202
    # the error paths log too: each must stay clean
    post_report(client, "{not json", **address)
    post_report(client, dict(probe_payload("probe0"), appCount=LANGUAGE), **address)
    client.post("/collecting", "x", content_type="text/plain", **address)
    client.get("/collecting", **address)
    client.delete("/api/v1/installations/nobody", **address)
    client.get("/no-such-page", **address)

    dump = database_dump()
    assert "probe0" in dump  # the dump is real and holds the reports
    logs = caplog.text + "".join(capfd.readouterr())
    assert "collecting" in logs  # the logs are real and saw the requests
    for secret in SECRETS:
        assert secret not in dump, f"{secret} found in the database"
        assert secret not in logs, f"{secret} found in the logs"


def _send_through_proxy(port: int, request: bytes) -> bytes:
    """Send one request as a proxy would, declaring the sender's address (PROXY v1)."""
    proxy_line = f"PROXY TCP4 {SENDER} 127.0.0.1 40000 {port}\r\n".encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(proxy_line + request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _http_post(port: int, body: bytes) -> bytes:
    return (
        f"POST /collecting HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Origin: https://velaux.example\r\nX-Forwarded-For: {FORWARDED}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_production_server_logs_no_address(postgres, tmp_path: Path):
    """gunicorn with deploy/gunicorn.conf.py, told by PROXY protocol that the peer is SENDER."""
    port = free_port()
    env = production_server_env(port)
    log_file = tmp_path / "server.log"
    with log_file.open("wb") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "deploy/gunicorn.conf.py",
                "--proxy-protocol",
                "v1",
                "--proxy-allow-from",
                "127.0.0.1",
                "portal.wsgi",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for(port)
            answer = _send_through_proxy(
                port, _http_post(port, json.dumps(probe_payload("serverprobe")).encode())
            )
            assert b" 202 " in answer.split(b"\r\n")[0], answer
            assert b"access-control-allow-origin: *" in answer.lower()
            # gunicorn's own "Invalid request from ip=..." path
            _send_through_proxy(port, b"NOT A REQUEST LINE\r\n\r\n")
        finally:
            server.terminate()
            server.wait(timeout=20)
    logs = log_file.read_text()
    assert "POST /collecting" in logs  # the access log is on and saw the request
    assert "Invalid request" in logs  # the error path ran and was logged
    dump = pg_dump()
    assert "serverprobe" in dump
    for secret in (*SECRETS, "127.0.0.1 40000"):
        assert secret not in logs, f"{secret} found in the server log:\n{logs}"
        assert secret not in dump


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not start")
