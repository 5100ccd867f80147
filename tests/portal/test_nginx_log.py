"""The production nginx configuration logs no installation ID and no client address.

The configuration in deploy/nginx is run as it is, with only its ports, certificate,
log and include paths moved into a temporary folder, and is sent erasure paths in every
form a client can write them. Its access log must keep none of the IDs.
"""

import re
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from tests.servers import free_port, wait_for_port
from tests.support import ROOT, require_service

CONF = ROOT / "deploy" / "nginx" / "telemetry-portal.conf"
PROXY_CONF = ROOT / "deploy" / "nginx" / "telemetry-portal-proxy.conf"
SECRET_ID = "nginxprobe0ID"
HOST = "telemetry.kubevela.net"

# Each is routed by nginx (and most by Django) as an erasure of SECRET_ID, or carries it.
PATHS = [
    f"/api/v1/installations/{SECRET_ID}",
    f"/api/v1/%69nstallations/{SECRET_ID}",
    f"/API/V1/INSTALLATIONS/{SECRET_ID}",
    f"//api//v1///installations//{SECRET_ID}/more?again={SECRET_ID}",
    f"/api/v1/installations%2F{SECRET_ID}",
    f"/api/v1/%2569nstallations/{SECRET_ID}",
    f"/api/v1/stats/../installations/{SECRET_ID}",
    f"/api/v1/installations/{SECRET_ID}%3Fq",
    f"/admin/ingest/report/?q={SECRET_ID}",
]


def _nginx() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None
    )


def test_the_log_format_writes_no_raw_request_line():
    formats = re.findall(r"log_format\s+\w+((?:\s+'[^']*')+);", CONF.read_text())
    assert formats, "no log_format in the nginx configuration"
    for log_format in formats:
        for raw in ("$request ", '$request"', "$request_uri", "$args", "$query_string", "$arg_"):
            assert raw not in log_format, f"{raw} would write the raw request: {log_format}"
        assert "$remote_addr" not in log_format and "$http_x_forwarded_for" not in log_format


def _self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", f"/CN={HOST}", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def _local_copy(folder: Path, http_port: int, https_port: int) -> Path:
    """The production file, with ports, certificate, logs and include moved to ``folder``."""
    cert, key = _self_signed(folder)
    text = CONF.read_text()
    text = re.sub(r"^\s*listen \[::\].*$", "", text, flags=re.MULTILINE)
    text = text.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    text = text.replace("listen 443 ssl", f"listen 127.0.0.1:{https_port} ssl")
    text = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", text)
    text = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", text)
    text = text.replace("/var/log/nginx/", f"{folder}/")
    text = text.replace("/etc/nginx/telemetry-portal-proxy.conf", str(PROXY_CONF))
    # The upstream is a port where nothing listens: every proxied request is a 502.
    text = text.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{free_port()};")
    site = folder / "telemetry-portal.conf"
    site.write_text(text)
    main = folder / "nginx.conf"
    temp = "".join(
        f"{kind}_temp_path {folder}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main.write_text(
        f"daemon off;\nmaster_process off;\npid {folder}/nginx.pid;\n"
        f"error_log {folder}/main-error.log emerg;\nevents {{}}\n"
        f"http {{\naccess_log off;\n{temp}include {site};\n}}\n"
    )
    return main


def _send(port: int, path: str, *, tls: bool) -> bytes:
    request = f"DELETE {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        sock = context.wrap_socket(sock, server_hostname=HOST)
    with sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def _wait_for_lines(log: Path, count: int) -> list[str]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = log.read_text().splitlines() if log.exists() else []
        if len(lines) >= count:
            return lines
        time.sleep(0.1)
    raise AssertionError(f"nginx logged {len(lines)} of {count} requests")


@pytest.fixture
def nginx(tmp_path):
    binary = _nginx()
    require_service("nginx (Debian's package; `make test` installs it)", binary is not None)
    http_port, https_port = free_port(), free_port()
    main = _local_copy(tmp_path, http_port, https_port)
    checked = subprocess.run(
        [binary, "-t", "-p", str(tmp_path), "-c", str(main)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    server = subprocess.Popen(
        [binary, "-p", str(tmp_path), "-c", str(main)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(http_port)
        wait_for_port(https_port)
        yield http_port, https_port, tmp_path / "telemetry-portal.access.log"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.slow  # starts nginx
def test_nginx_logs_no_installation_id_in_any_spelling_of_the_path(nginx, tmp_path):
    http_port, https_port, access_log = nginx
    for path in PATHS:
        assert b" 502 " in _send(https_port, path, tls=True).split(b"\r\n")[0]
        assert b" 301 " in _send(http_port, path, tls=False).split(b"\r\n")[0]
    _send(https_port, "/stats/?range=90", tls=True)
    lines = _wait_for_lines(access_log, 2 * len(PATHS) + 1)
    logged = "\n".join(lines)
    assert SECRET_ID not in logged, logged
    assert '"DELETE /api/v1/installations/[platformID] HTTP/1.1" 502' in logged
    assert '"DELETE /admin/ingest/report/ HTTP/1.1" 502' in logged  # no query string
    assert '"DELETE /stats/ HTTP/1.1" 502' in logged  # other paths are logged as routed
    assert "127.0.0.1" not in logged
    for error_log in tmp_path.glob("*error.log"):
        assert SECRET_ID not in error_log.read_text()
