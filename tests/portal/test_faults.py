"""The receiver under faults: PostgreSQL restarted and Redis stopped while reports arrive.

The production server (gunicorn with deploy/gunicorn.conf.py) runs as a subprocess on a
PRIVATE PostgreSQL cluster (initdb in a temporary directory, its own port) and, for the
Redis test, a private redis-server, so stopping them harms no other test. Sender threads
post VelaUX reports with distinct installation IDs the whole time, each on a fresh
connection. Afterwards every report answered 202 must be in the database, and every
other answer must be the documented 503 with Retry-After and a JSON error body: never a
500, a reset connection or a timeout.
"""

import http.client
import itertools
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.servers import RedisServer, free_port, process_group_stop
from tests.support import ROOT, require_service, velaux_fixture_paths

pytestmark = pytest.mark.slow

DATABASE = "portal_faults"
SENDERS = 3
WORKERS, THREADS = 2, 4
PAYLOADS = [json.loads(path.read_text()) for path in velaux_fixture_paths()]


def _wait_until(predicate, timeout: float, what: str, poll: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")


# --- a private PostgreSQL cluster -------------------------------------------------------


def _postgres_bin() -> Path | None:
    """The server binaries: Debian's newest /usr/lib/postgresql/<major>/bin, else PATH."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PrivatePostgres:
    """A throwaway cluster: trust authentication, its own port, its socket in its directory.

    PostgreSQL refuses to run as root, so as root every command runs as the postgres user.
    """

    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="portal-faults-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.as_postgres: list[str] = []
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self.as_postgres = ["runuser", "-u", "postgres", "--"]

    def url(self, database: str = DATABASE) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _pg(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.as_postgres, *args],
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
            cwd=self.root,
        )

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self._pg(str(self.bin / "pg_ctl"), "-D", str(self.data), *args, check=check)

    def init(self) -> None:
        self._pg(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c max_connections=60 -c shared_buffers=32MB"
        )
        self._ctl("-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "-t", "60", "stop")

    def restart(self, mode: str = "fast") -> None:
        self._ctl("-l", str(self.log), "-m", mode, "-w", "-t", "60", "restart")

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=DATABASE, autocommit=True
        )

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._ctl("-m", "immediate", "-w", "-t", "60", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def private_postgres():
    bin_dir = _postgres_bin()
    require_service("PostgreSQL server binaries (initdb, pg_ctl)", bin_dir is not None)
    if os.geteuid() == 0:
        require_service("the postgres account (to run a private cluster as root)", _has_postgres())
    cluster = PrivatePostgres(bin_dir)
    try:
        cluster.init()
        cluster.start()
        with psycopg.connect(
            host="127.0.0.1", port=cluster.port, user="postgres", dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(f"CREATE DATABASE {DATABASE}")
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=_server_env(cluster.url()),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
        with cluster.connect() as connection:  # the migration seeds the published policy
            published = connection.execute(
                "SELECT count(*) FROM ingest_policyversion WHERE status = 'published'"
            ).fetchone()
        assert published == (1,)
        yield cluster
    finally:
        cluster.destroy()


def _has_postgres() -> bool:
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return shutil.which("runuser") is not None


# --- a private redis-server -----------------------------------------------------------


@pytest.fixture
def redis_server():
    require_service("redis-server", shutil.which("redis-server") is not None)
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


# --- the production server ---------------------------------------------------------------


def _server_env(database_url: str, redis_url: str | None = None, **extra: str) -> dict:
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        SECRET_KEY="faults-test-secret-key-0123456789abcdef-0123456789",
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1",
        STATIC_MANIFEST="0",
        **extra,
    )
    env.pop("REDIS_URL", None)
    env.pop("CACHE_URL", None)  # the cache follows REDIS_URL: the private one, or none
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


class Server:
    def __init__(self, env: dict, log_path: Path):
        self.port = free_port()
        self.log_path = log_path
        self.env = dict(env, GUNICORN_BIND=f"127.0.0.1:{self.port}")
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    "deploy/gunicorn.conf.py",
                    "--no-control-socket",  # leave other servers' ~/.gunicorn/gunicorn.ctl alone
                    "portal.wsgi",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the arbiter and its workers, stopped as a group
            )
        _wait_until(self._healthy, 60, f"gunicorn to answer /healthz\n{self.logs()[-3000:]}")

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"gunicorn exited at start:\n{self.logs()[-3000:]}")
        try:
            return get(self.port, "/healthz").status == 200
        except OSError:
            return False

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None:
            process_group_stop(self.process)


@pytest.fixture
def start_server(tmp_path):
    servers: list[Server] = []

    def start(env: dict) -> Server:
        server = Server(env, tmp_path / f"gunicorn-{len(servers)}.log")
        servers.append(server)
        server.start()
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


# --- HTTP, one fresh connection per request ------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


def request(port: int, method: str, path: str, body: bytes | None = None) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        headers = {"Connection": "close"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        connection.close()


def get(port: int, path: str) -> Answer:
    return request(port, "GET", path)


@dataclass
class Outcome:
    platform_id: str
    started: float
    finished: float
    answer: Answer | None = None
    error: str | None = None


class Senders:
    """Threads posting distinct installations' reports until stopped, keeping every outcome."""

    def __init__(self, port: int, prefix: str, count: int = SENDERS):
        self.port = port
        self.prefix = prefix
        self.outcomes: list[Outcome] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self._send, args=(n,), daemon=True) for n in range(count)
        ]

    def __enter__(self) -> "Senders":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def _send(self, sender: int) -> None:
        for n in itertools.count():
            if self.stopping.is_set():
                return
            platform_id = f"{self.prefix}-{sender}-{n}"
            payload = dict(PAYLOADS[n % len(PAYLOADS)], platformID=platform_id)
            outcome = Outcome(platform_id, time.monotonic(), 0.0)
            try:
                outcome.answer = request(
                    self.port, "POST", "/collecting", json.dumps(payload).encode()
                )
            except (OSError, http.client.HTTPException) as exc:  # reset, refused, timeout
                outcome.error = f"{type(exc).__name__}: {exc}"
            outcome.finished = time.monotonic()
            with self.lock:
                self.outcomes.append(outcome)
            time.sleep(0.002)

    def snapshot(self) -> list[Outcome]:
        with self.lock:
            return list(self.outcomes)

    def accepted_since(self, moment: float) -> int:
        return sum(
            1
            for o in self.snapshot()
            if o.started >= moment and o.answer is not None and o.answer.status == 202
        )

    def wait_for_accepted(self, count: int, since: float, timeout: float = 60) -> None:
        _wait_until(
            lambda: self.accepted_since(since) >= count,
            timeout,
            f"{count} reports accepted (outcomes so far: {summary(self.snapshot())})",
        )


class Prober:
    """GETs a path every 100 ms on a fresh connection, keeping (time, status or error)."""

    def __init__(self, port: int, path: str):
        self.port, self.path = port, path
        self.seen: list[tuple[float, int | str]] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Prober":
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopping.set()
        self.thread.join(timeout=30)

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                result: int | str = get(self.port, self.path).status
            except (OSError, http.client.HTTPException) as exc:
                result = f"{type(exc).__name__}: {exc}"
            self.seen.append((time.monotonic(), result))
            time.sleep(0.1)


def summary(outcomes: list[Outcome]) -> dict:
    counts: dict = {}
    for outcome in outcomes:
        key = outcome.answer.status if outcome.answer else outcome.error
        counts[key] = counts.get(key, 0) + 1
    return counts


def assert_every_answer_is_202_or_the_documented_503(outcomes: list[Outcome]) -> None:
    errors = [o for o in outcomes if o.error]
    assert not errors, f"{len(errors)} requests failed at the connection: {errors[:5]}"
    for outcome in outcomes:
        answer = outcome.answer
        assert answer.status in (202, 503), (answer.status, answer.body[:500])
        if answer.status == 202:
            assert answer.json()["status"] == "accepted"
            continue
        assert int(answer.headers["retry-after"]) > 0, answer.headers
        assert answer.headers["content-type"].startswith("application/json"), answer.headers
        body = answer.json()
        assert isinstance(body["error"], str) and body["error"], body
        assert isinstance(body["message"], str) and body["message"], body


def assert_every_202_is_stored(cluster: PrivatePostgres, outcomes: list[Outcome], prefix: str):
    accepted = {o.platform_id for o in outcomes if o.answer and o.answer.status == 202}
    with cluster.connect() as connection:
        stored = {
            row[0]
            for row in connection.execute(
                "SELECT platform_id FROM ingest_report WHERE platform_id LIKE %s", [f"{prefix}-%"]
            )
        }
    missing = accepted - stored
    assert not missing, f"{len(missing)} reports answered 202 are not stored: {sorted(missing)[:5]}"
    return accepted, stored


def readiness(port: int) -> Answer:
    return get(port, "/readyz")


# --- the tests ----------------------------------------------------------------------------


def test_postgresql_restarts_while_reports_arrive(private_postgres, start_server):
    """A quick restart, then a crash-stop held for three seconds, under continuous load.

    The published policy is re-read every second, so the outage also covers the
    receiver's policy lookup, not only its INSERT.
    """
    cluster = private_postgres
    server = start_server(
        _server_env(
            cluster.url(),
            GUNICORN_WORKERS=str(WORKERS),
            GUNICORN_THREADS=str(THREADS),
            INGEST_POLICY_CACHE_SECONDS="1",
        )
    )
    assert readiness(server.port).status == 200
    with Prober(server.port, "/healthz") as health, Senders(server.port, "pgfault") as senders:
        senders.wait_for_accepted(50, since=0)

        cluster.restart("fast")  # the pooled connections of every thread are now dead
        restarted = time.monotonic()
        senders.wait_for_accepted(50, since=restarted)

        stopping = time.monotonic()
        cluster.stop("immediate")  # a crash: backends killed, no shutdown checkpoint
        down_from = time.monotonic()
        while_down = []
        while time.monotonic() - down_from < 3:
            while_down.append(readiness(server.port))
            time.sleep(0.2)
        down_until = time.monotonic()
        cluster.start()
        _wait_until(lambda: readiness(server.port).status == 200, 30, "/readyz to answer 200")
        back = time.monotonic()
        senders.wait_for_accepted(100, since=back)
    outcomes = senders.snapshot()

    assert_every_answer_is_202_or_the_documented_503(outcomes)
    during = [o for o in outcomes if o.started >= down_from and o.finished <= down_until]
    assert len(during) >= 20, f"too few reports sent during the outage: {summary(during)}"
    assert {o.answer.status for o in during} == {503}, summary(during)
    assert {o.answer.json()["error"] for o in during} == {"storage_unavailable"}
    # Once PostgreSQL is back, each pooled connection (one per gunicorn thread) fails the
    # one request that finds it dead, and is replaced: nothing else fails.
    after_restart = [o for o in outcomes if restarted <= o.started and o.finished < stopping]
    assert sum(o.answer.status == 503 for o in after_restart) <= WORKERS * THREADS
    tail = sorted(outcomes, key=lambda o: o.started)[-30:]
    assert {o.answer.status for o in tail} == {202}, "sending did not recover"

    accepted, stored = assert_every_202_is_stored(cluster, outcomes, "pgfault")
    assert len(accepted) >= 200

    assert while_down and {a.status for a in while_down} == {503}
    assert all(a.json()["checks"]["database"] == "failing" for a in while_down)
    assert all(int(a.headers["retry-after"]) > 0 for a in while_down)
    assert {status for _, status in health.seen} == {200}, health.seen
    assert any(down_from <= at <= down_until for at, _ in health.seen)
    logs = server.logs()
    assert "Traceback" not in logs, logs[-5000:]
    after_back = [o for o in outcomes if o.started >= back]
    print(
        f"\nPostgreSQL restart: {summary(outcomes)} over {len(outcomes)} reports; "
        f"after the quick restart {summary(after_restart)}; "
        f"during the 3 s outage {summary(during)}; once ready again {summary(after_back)}; "
        f"{len(stored)} stored"
    )


def test_redis_stops_while_reports_arrive(private_postgres, redis_server, start_server):
    """Redis holds only the global ceiling's shared counter: without it reports still land."""
    cluster = private_postgres
    server = start_server(
        _server_env(
            cluster.url(),
            redis_server.url,
            GUNICORN_WORKERS=str(WORKERS),
            GUNICORN_THREADS=str(THREADS),
            INGEST_CEILING_BATCH="1",  # every report adds to the shared counter in Redis
        )
    )
    ready = readiness(server.port)
    assert (ready.status, ready.json()["checks"]) == (200, {"database": "ok", "redis": "ok"})
    with Senders(server.port, "redisfault") as senders:
        senders.wait_for_accepted(50, since=0)

        redis_server.stop()
        down_from = time.monotonic()
        while_down = readiness(server.port)
        senders.wait_for_accepted(150, since=down_from)
        while_down_later = readiness(server.port)
        down_until = time.monotonic()

        redis_server.start()  # same port: the server's clients reconnect by themselves
        _wait_until(lambda: readiness(server.port).status == 200, 30, "/readyz to answer 200")
        senders.wait_for_accepted(50, since=time.monotonic())
    outcomes = senders.snapshot()

    errors = [o for o in outcomes if o.error]
    assert not errors, errors[:5]
    assert {o.answer.status for o in outcomes} == {202}, summary(outcomes)
    during = [o for o in outcomes if down_from <= o.started and o.finished <= down_until]
    assert len(during) >= 100
    assert_every_202_is_stored(cluster, outcomes, "redisfault")

    for answer in (while_down, while_down_later):
        assert answer.status == 503
        assert answer.json()["checks"] == {"database": "ok", "redis": "failing"}
        assert int(answer.headers["retry-after"]) > 0

    logs = server.logs()
    assert "Global rate-limit counter unavailable; accepting without it." in logs  # Redis was used
    assert "Traceback" not in logs, logs[-5000:]
    # Not even Redis's own address: the one 127.0.0.1 left is gunicorn naming its own bind
    # address at start-up ("Listening at: http://127.0.0.1:PORT"), which is not a client's.
    own = f"Listening at: http://127.0.0.1:{server.port} "
    assert logs.count("127.0.0.1") == logs.count(own), [
        line for line in logs.splitlines() if "127.0.0.1" in line and own not in line
    ][:5]
    print(f"\nRedis stop: {summary(outcomes)}; {len(during)} accepted while Redis was down")
