"""No log line keeps an installation ID or a client address, whatever their spelling.

The cases run through the project's own logging set-up: the handlers Django configured
from ``settings.LOGGING`` (with their redaction filter), and the production server
started with ``deploy/gunicorn.conf.py``.
"""

import io
import logging
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

from portal.logging import RedactAddressesFilter, redact_addresses
from tests.ingest.helpers import post_report
from tests.servers import free_port, production_server_env, wait_for_port
from tests.support import ROOT

SECRET_ID = "logprobe0ID"

# Every spelling of an erasure path (and the admin's exact lookup) a client can send.
ID_PATHS = [
    f"/api/v1/installations/{SECRET_ID}",
    f"/api/v1/%69nstallations/{SECRET_ID}",
    "/api/v1/installations/%6cogprobe0ID",  # the ID itself encoded: routed as SECRET_ID
    f"/API/V1/INSTALLATIONS/{SECRET_ID}",
    f"//api//v1///installations//{SECRET_ID}",
    f"/api/v1/installations/{SECRET_ID}/trailing/parts",
    f"/api/v1/installations/{SECRET_ID}?and=a&query={SECRET_ID}",
    f"/api/v1/installations%2F{SECRET_ID}",
    f"/api/v1/%2569nstallations/{SECRET_ID}",
    f"\\api\\v1\\installations\\{SECRET_ID}",
    f"https://telemetry.example/api/v1/installations/{SECRET_ID}",
    f"/admin/ingest/report/?q={SECRET_ID}",
    f"/admin/ingest/report/?p=2&q={SECRET_ID}",
    f"/admin/ingest/report/7/change/?_changelist_filters=q%3D{SECRET_ID}",
    f"/admin/login/?next=/admin/ingest/report/%3Fq%3D{SECRET_ID}",
]

ADDRESSES = [
    ("198.51.100.77", "from [address] on"),
    ("::ffff:198.51.100.77", "from [address] on"),
    ("::FFFF:198.51.100.77", "from [address] on"),
    ("::ffff:c633:644d", "from [address] on"),
    ("0:0:0:0:0:ffff:198.51.100.77", "from [address] on"),
    ("64:ff9b::198.51.100.77", "from [address] on"),
    ("::ffff:198.051.100.077", "from [address] on"),
    ("2001:db8::1", "from [address] on"),
    ("2001:DB8:0:0:8:800:200C:417A", "from [address] on"),
    ("2001:db8:0:0:0:0:2:1", "from [address] on"),
    ("::1", "from [address] on"),
    ("fe80::1%eth0", "from [address] on"),
    ("fe80::1%25eth0", "from [address] on"),
    ("[2001:db8::7]:8080", "from [address]:8080 on"),
    ("[::ffff:198.51.100.77]:443", "from [address]:443 on"),
    ("203.0.113.9.", "from [address]. on"),
]


@pytest.mark.parametrize("path", ID_PATHS)
def test_an_installation_id_is_redacted_in_every_spelling_of_its_path(path):
    line = f'"DELETE {path} HTTP/1.1" 404 0'
    redacted = redact_addresses(line)
    assert SECRET_ID not in redacted and "%6cogprobe0ID" not in redacted, redacted
    assert "[platformID]" in redacted


@pytest.mark.parametrize(("address", "expected"), ADDRESSES)
def test_every_spelling_of_an_address_is_redacted(address, expected):
    redacted = redact_addresses(f"from {address} on")
    assert redacted == expected
    assert "198" not in redacted and "c633" not in redacted and "db8" not in redacted


@pytest.mark.parametrize(
    "text",
    [
        "at 10:31:39 all went well",
        "2026-12-01 23:10:34,334 WARNING",
        "release v1.9.4 of chrome124.0.0.0",
        "std::vector and 1.2.3.4.5",
        "/admin/portal/auditevent/?q=maria",
        "/api/v1/stats/release?from=2026-01-01",
    ],
)
def test_text_that_is_neither_stays_as_it_is(text):
    assert redact_addresses(text) == text


@contextmanager
def project_log() -> io.StringIO:
    """What the handlers of settings.LOGGING write, Django's loggers at DEBUG."""
    buffer = io.StringIO()
    django_logger = logging.getLogger("django")
    handlers = [  # "console", shared by the root and django.server (pytest adds its own)
        h
        for h in django_logger.handlers
        if any(isinstance(f, RedactAddressesFilter) for f in h.filters)
    ]
    assert handlers, "the handlers of settings.LOGGING are not set up"
    assert set(handlers) <= set(logging.getLogger("django.server").handlers)
    streams = [h.setStream(buffer) for h in handlers]
    level = django_logger.level
    django_logger.setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        django_logger.setLevel(level)
        for handler, stream in zip(handlers, streams, strict=True):
            handler.setStream(stream)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Invalid request from ip=198.51.100.77: bad line", "from ip=[address]: bad line"),
        ("peer 2001:db8::1 closed", "peer [address] closed"),
        ("peer ::1 closed", "peer [address] closed"),
        ("fe80:0:0:0:202:b3ff:fe1e:8329 said hi", "[address] said hi"),
        (
            '"DELETE /api/v1/installations/abc123 HTTP/1.1" 204',
            '"DELETE /api/v1/installations/[platformID] HTTP/1.1" 204',
        ),
        ("at 10:31:39 all went well", "at 10:31:39 all went well"),
        ("release v1.9.4 of chrome124.0.0.0", "release v1.9.4 of chrome124.0.0.0"),
    ],
)
def test_addresses_and_erasure_paths_are_redacted_in_a_line(text, expected):
    assert expected in redact_addresses(text)


def test_the_filter_redacts_formatted_arguments_and_tracebacks():
    try:
        raise ValueError("connect to 203.0.113.9 failed")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "from %s", ("198.51.100.77",), sys.exc_info()
        )
    RedactAddressesFilter().filter(record)
    assert record.getMessage() == "from [address]"
    assert "203.0.113.9" not in record.exc_text


@pytest.mark.django_db
def test_the_project_handlers_keep_no_id_from_requests_or_records(client):
    with project_log() as log:
        for path in ID_PATHS:
            client.delete(path)  # routed, or not: Django logs "Not Found: <path>" either way
            logging.getLogger("django.server").info('"%s %s HTTP/1.1" %s', "DELETE", path, 404)
        logging.getLogger("django.request").error(
            "Erasure of %s failed", "/api/v1/installations/" + SECRET_ID, exc_info=False
        )
        logging.getLogger("portal").warning("peer ::ffff:198.51.100.77 and [2001:db8::7]:8080")
    text = log.getvalue()
    assert "Not Found: /api/v1/installations/[platformID]" in text  # the lines are real
    assert SECRET_ID not in text, text
    assert "198.51.100.77" not in text and "2001:db8" not in text
    assert "peer [address] and [address]:8080" in text


@pytest.mark.django_db
def test_sql_debug_lines_never_carry_a_report(client, typical_payload):
    """With LOG_LEVEL=DEBUG and a debug cursor Django would log every query with its
    parameters, the platformID of every report among them."""
    with project_log() as log:
        connection.force_debug_cursor = True
        try:
            payload = dict(typical_payload, platformID=SECRET_ID)
            assert post_report(client, payload).status_code == 202
        finally:
            connection.force_debug_cursor = False
        logging.getLogger("django").debug("the log is open at DEBUG")
    assert "the log is open at DEBUG" in log.getvalue()
    assert SECRET_ID not in log.getvalue()


def test_gunicorn_handlers_carry_the_filter():
    namespace: dict = {}
    exec((ROOT / "deploy" / "gunicorn.conf.py").read_text(), namespace)  # noqa: S102 # nosec B102
    config = namespace["logconfig_dict"]
    assert config["filters"]["redact_addresses"]["()"] == "portal.logging.RedactAddressesFilter"
    assert all("redact_addresses" in h["filters"] for h in config["handlers"].values())


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_production_server_logs_no_installation_id(postgres, tmp_path: Path):
    """gunicorn with deploy/gunicorn.conf.py; its access log writes the raw request line."""
    port = free_port()
    env = production_server_env(port)
    log_file = tmp_path / "server.log"
    with log_file.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "portal.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port)
            for path in ID_PATHS:
                path = path.replace("\\", "%5C")  # a raw backslash is not a valid request
                request = f"DELETE {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                    sock.sendall(request.encode())
                    while sock.recv(65536):
                        pass
        finally:
            server.terminate()
            server.wait(timeout=20)
    logs = log_file.read_text()
    assert '"DELETE /api/v1/installations/[platformID] HTTP/1.1" 404' in logs, logs
    assert SECRET_ID not in logs and "%6cogprobe0ID" not in logs, logs


# --- the server's own address is not a client's --------------------------------------------


def gunicorn_record(msg: str, *args) -> logging.LogRecord:
    return logging.LogRecord("gunicorn.error", logging.INFO, __file__, 1, msg, args, None)


@pytest.mark.parametrize(
    ("msg", "args", "expected"),
    [
        ("Listening at: %s (%s)", ("http://127.0.0.1:8000", 4242), "http://127.0.0.1:8000 (4242)"),
        ("Listening at: %s", ("http://[::1]:8000,http://10.0.0.5:8000",), "http://10.0.0.5:8000"),
        ("Connection in use: %s", ("('0.0.0.0', 8000)",), "('0.0.0.0', 8000)"),
    ],
)
def test_gunicorns_lines_about_its_own_sockets_keep_the_bind_address(msg, args, expected):
    record = gunicorn_record(msg, *args)
    assert RedactAddressesFilter().filter(record)
    assert expected in record.getMessage()


@pytest.mark.parametrize(
    "record",
    [
        gunicorn_record("Invalid request from ip=198.51.100.77: Invalid HTTP request line"),
        gunicorn_record("Error handling request %s", "/from/198.51.100.77"),
        # The same words from another logger, or with a client's address in a message
        # gunicorn formats itself, are redacted as any line is.
        logging.LogRecord(
            "portal", logging.INFO, __file__, 1, "Listening at: %s", ("198.51.100.77",), None
        ),
        gunicorn_record("Listening at: 198.51.100.77"),
    ],
    ids=["invalid-request", "error-handling", "other-logger", "preformatted"],
)
def test_client_addresses_in_gunicorns_other_lines_are_still_redacted(record):
    assert RedactAddressesFilter().filter(record)
    assert "198.51.100.77" not in record.getMessage()
    assert "[address]" in record.getMessage()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_production_server_prints_where_it_listens_and_no_client_address(
    postgres, tmp_path: Path
):
    port = free_port()
    log_file = tmp_path / "server.log"
    with log_file.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "portal.wsgi"],
            cwd=ROOT,
            env=production_server_env(port),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port)
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(b"NOT A REQUEST LINE\r\n\r\n")  # gunicorn logs the client's ip
                while sock.recv(65536):
                    pass
        finally:
            server.terminate()
            server.wait(timeout=20)
    lines = log_file.read_text().splitlines()
    listening = [line for line in lines if "Listening at:" in line]
    assert listening and f"Listening at: http://127.0.0.1:{port} (" in listening[0], lines
    assert any("Invalid request from ip=[address]" in line for line in lines), lines
    others = [line for line in lines if line not in listening]
    assert not [line for line in others if "127.0.0.1" in line], lines
