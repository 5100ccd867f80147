"""Private servers for tests that stop, kill or restart them: free ports and redis-server."""

import os
import signal
import socket
import subprocess
import time


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_server_env(port: int, **overrides: str) -> dict[str, str]:
    """The environment of a gunicorn started with deploy/gunicorn.conf.py on the test database.

    Production settings (DEBUG off) with every log at debug level, so that a test grepping
    the logs sees everything the server could write.
    """
    from django.conf import settings

    db = settings.DATABASES["default"]
    return dict(
        os.environ,
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="1",
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1",
        STATIC_MANIFEST="0",
        LOG_LEVEL="DEBUG",
        GUNICORN_LOG_LEVEL="debug",
        **overrides,
    )


def process_group_stop(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM to the process and its children (started with start_new_session), then
    SIGKILL to whatever is left after ``timeout`` seconds."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


class RedisServer:
    """A redis-server of the test's own, keeping nothing on disk, on a free port."""

    def __init__(self, port: int | None = None, options: tuple[str, ...] = ()):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.options = options  # more redis-server arguments, e.g. ("--maxmemory", "2mb")
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no"),
                *self.options,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
