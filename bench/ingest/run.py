"""Benchmark the VelaUX receiver (POST /collecting) against the no-op GET /healthz.

Sets everything up itself: a throwaway PostgreSQL database (dropped and
recreated), migrations, gunicorn with deploy/gunicorn.conf.py on a free
loopback port, then for each server configuration a warm-up and a fixed-length
closed-loop run of each endpoint on the same server, driven by wrk (see
loadgen.py and velaux.lua), and finally a markdown table. Traffic goes to
127.0.0.1 only. See bench/ingest/README.md.

    .venv/bin/python bench/ingest/run.py                  # the default configuration
    .venv/bin/python bench/ingest/run.py --sweep 2x4,3x4  # workers x threads to compare
"""

import argparse
import hashlib
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from loadgen import PhaseResult, run_wrk, wrk_path
from payloads import report_body

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/, for harness
from harness import (  # noqa: E402
    CLOCK_TICKS,
    admin_connection,
    bench_connection,
    drop_database,
    machine_busy_ticks,
    machine_line,
    pass_fail,
    postgres_settings,
    process_cpu_ticks,
    recreate_database,
)

HOST = "127.0.0.1"
TARGET_RATE = 1000.0
TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0
BENCH_SECRET_KEY = secrets.token_urlsafe(48)  # a fresh throwaway key per run
DEFAULT_WORKERS = 2  # the best of the sweeps in README.md
DEFAULT_THREADS = 8


@dataclass(frozen=True)
class ServerConfig:
    workers: int
    threads: int
    access_log: bool
    round: int = 0  # with --rounds: which pass of the configuration (1, 2, ...)

    @property
    def label(self) -> str:
        log = "on" if self.access_log else "off"
        label = f"{self.workers}w x {self.threads}t, access log {log}"
        return f"{label}, round {self.round}" if self.round else label

    @property
    def kind(self) -> tuple[int, int, bool]:
        return (self.workers, self.threads, self.access_log)


@dataclass
class EndpointRun:
    config: ServerConfig
    endpoint: str
    ok_status: int
    result: PhaseResult
    cpu_cores: dict[str, float]
    accepted_total: int = 0  # every 202, warm-up included
    stored: int = 0  # report rows in the database afterwards
    in_flight_bound: int = 0  # requests wrk may have left unread when it stopped
    access_lines: int = 0  # access-log lines gunicorn wrote for both endpoints
    probe_ms: float = 0.0  # speed_probe() just before the endpoint was measured
    worker_cores: list[float] = field(default_factory=list)  # each worker's, busiest first
    commit_ms: list[float] = field(default_factory=list)  # CommitProbe's, sorted
    window_rates: list[float] = field(default_factory=list)  # with --interleave: each window's

    @property
    def cpu_ms_per_request(self) -> float:
        known = ("gunicorn", "postgres", "redis", "load generator")
        rate = sum(self.result.statuses.values()) / self.duration or 1.0
        return sum(1000.0 * self.cpu_cores[name] / rate for name in known)

    @property
    def duration(self) -> float:
        return self.result.duration

    @property
    def ok_rate(self) -> float:
        return self.result.statuses[self.ok_status] / self.duration

    def percentile(self, fraction: float) -> float:
        return self.result.percentile(fraction)

    @property
    def stored_matches(self) -> bool:
        """Every 202 is a row; wrk stops mid-request, so a few rows may have no answer read."""
        return self.accepted_total <= self.stored <= self.accepted_total + self.in_flight_bound


# --- requests -----------------------------------------------------------------------------


def noop_request(port: int) -> bytes:
    return f"GET /healthz HTTP/1.1\r\nHost: {HOST}:{port}\r\nAccept: */*\r\n\r\n".encode()


def bodies_files(bodies: list[bytes], directory: Path, warmup_share: float) -> tuple[Path, Path]:
    """Warm-up and measured bodies in two files, so no body is sent twice."""
    split = int(len(bodies) * warmup_share)
    files = (directory / "warmup-bodies.jsonl", directory / "measured-bodies.jsonl")
    for path, part in zip(files, (bodies[:split], bodies[split:]), strict=True):
        path.write_bytes(b"\n".join(part) + b"\n")
    return files


# --- CPU accounting from /proc ------------------------------------------------------------


def process_cpu_seconds(pid: int) -> float:
    return (process_cpu_ticks(pid) or 0) / CLOCK_TICKS


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def pids_named(name: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def total_busy_seconds() -> float:
    return machine_busy_ticks() / CLOCK_TICKS


def background_load(seconds: float = 1.0) -> float:
    """Cores busy while the benchmark itself is idle: other work skews every figure."""
    before = total_busy_seconds()
    time.sleep(seconds)
    return (total_busy_seconds() - before) / seconds


class CommitProbe(threading.Thread):
    """One row committed every PROBE_INTERVAL s on a connection of its own, timed.

    The receiver's 2xx waits for its batch's WAL flush, so a slow disk is a slow answer.
    On this kind of virtual machine a lone INSERT's commit, with nothing else running,
    took 0.35 ms at the median and once 574 ms in 40 s: the windows whose p99 jumps are
    the ones with such a stall, which this shows. Its backend is left out of the CPU
    accounting; it adds ~50 commits a second.
    """

    PROBE_INTERVAL = 0.02
    STALL_MS = 50.0

    def __init__(self, args) -> None:
        super().__init__(name="commit-probe", daemon=True)
        self.conn = bench_connection(args)
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_commit_probe "
            "(id bigserial PRIMARY KEY, at timestamptz)"
        )
        self.pid = self.conn.info.backend_pid
        self.latencies_ms: list[float] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(self.PROBE_INTERVAL):
            started = time.perf_counter()
            self.conn.execute("INSERT INTO bench_commit_probe (at) VALUES (now())")
            self.latencies_ms.append(1000.0 * (time.perf_counter() - started))

    def stop(self) -> list[float]:
        self.halt.set()
        self.join(10)
        self.conn.execute("TRUNCATE bench_commit_probe")
        self.conn.close()
        return sorted(self.latencies_ms)


def commit_probe_text(latencies_ms: list[float]) -> str:
    if not latencies_ms:
        return "no commit timed"
    stalls = sum(1 for ms in latencies_ms if ms > CommitProbe.STALL_MS)
    median = latencies_ms[len(latencies_ms) // 2]
    return (
        f"a lone commit every {1000 * CommitProbe.PROBE_INTERVAL:.0f} ms took {median:.2f} ms "
        f"(median), {latencies_ms[-1]:.0f} ms at most, {stalls} of {len(latencies_ms)} over "
        f"{CommitProbe.STALL_MS:.0f} ms"
    )


def bench_postgres_pids(conn: psycopg.Connection, db_name: str) -> list[int]:
    """The benchmark database's backends plus the shared WAL writer, checkpointer and bgwriter.

    Other databases' backends on the same server (other people's tests) are left out.
    """
    rows = conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s OR backend_type IN "
        "('walwriter', 'checkpointer', 'background writer')",
        [db_name],
    ).fetchall()
    return [pid for (pid,) in rows]


def cpu_snapshot(gunicorn_pid: int, postgres_pids: list[int]) -> dict[str, dict[int, float]]:
    groups = {
        "gunicorn": [gunicorn_pid, *children(gunicorn_pid)],
        "postgres": postgres_pids,
        "redis": pids_named("redis-server"),
    }
    snapshot = {name: {p: process_cpu_seconds(p) for p in pids} for name, pids in groups.items()}
    snapshot["all"] = {0: total_busy_seconds()}
    return snapshot


def cores_used(before: dict, after: dict, seconds: float) -> dict[str, float]:
    """Cores per group over the window; a process that started meanwhile counts from zero."""
    return {
        name: sum(cpu - before[name].get(pid, 0.0) for pid, cpu in after[name].items()) / seconds
        for name in after
    }


# --- database and server ------------------------------------------------------------------


def reports_stored(args) -> int:
    with bench_connection(args) as conn:
        return conn.execute("SELECT count(*) FROM ingest_report").fetchone()[0]


def reports_truncate(args) -> None:
    with bench_connection(args) as conn:
        conn.execute("TRUNCATE ingest_report, ingest_discardedfieldcount")


def server_env(args, config: ServerConfig, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SECRET_KEY=BENCH_SECRET_KEY,
        DEBUG="0",
        ALLOWED_HOSTS=HOST,
        DATABASE_URL=f"{args.pg_url}/{args.db_name}",
        REDIS_URL=args.redis_url,
        INGEST_GLOBAL_MAX_REPORTS_PER_MINUTE="1000000000",
        GUNICORN_BIND=f"{HOST}:{port}",
        GUNICORN_WORKERS=str(config.workers),
        GUNICORN_THREADS=str(config.threads),
        GUNICORN_ACCESS_LOG="1" if config.access_log else "0",
        GUNICORN_LOG_LEVEL="warning",
    )
    return env


def migrate(args) -> None:
    env = server_env(args, ServerConfig(1, 1, False), 0)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=args.project, env=env, check=True,
    )  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_until_serving(port: int, server: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode} while starting")
        try:
            with socket.create_connection((HOST, port), timeout=1) as sock:
                sock.sendall(
                    noop_request(port).replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
                )
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer /healthz in time")


def server_start(args, config: ServerConfig, port: int, stdout_path: Path) -> subprocess.Popen:
    """gunicorn as production runs it; its stdout (the access log) goes to a file."""
    command = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "portal.wsgi"]
    stdout = open(stdout_path, "ab")  # noqa: SIM115
    logs = stdout_path.parent
    stderr = open(logs / "gunicorn-error.log", "ab")  # noqa: SIM115
    server = subprocess.Popen(
        command, cwd=args.project, env=server_env(args, config, port), stdout=stdout, stderr=stderr
    )
    stdout.close()
    stderr.close()
    return server


def server_stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --- one configuration --------------------------------------------------------------------


def wrk_phase(args, port: int, path: str, seconds: float, bodies_file: Path | None):
    return run_wrk(
        HOST, port, path, seconds=seconds, threads=args.wrk_threads,
        connections=args.connections, bodies_file=bodies_file,
    )  # fmt: skip


@dataclass
class Window:
    """One measured run of wrk against one endpoint, with the CPU sampled around it."""

    result: PhaseResult
    elapsed: float  # seconds, wall clock, wrk's start-up included
    cpu_seconds: dict[str, float]  # per group (gunicorn, postgres, redis, all, load generator)
    worker_seconds: dict[int, float]  # per gunicorn worker
    commits: list[float]  # CommitProbe's latencies, ms
    probe_ms: float = 0.0

    def rate(self, status: int) -> float:
        return self.result.statuses[status] / self.result.duration


def measure_window(args, server, port: int, path: str, seconds: float, bodies: Path | None):
    probe = CommitProbe(args)
    with admin_connection(args) as conn:
        postgres = [pid for pid in bench_postgres_pids(conn, args.db_name) if pid != probe.pid]
        before = cpu_snapshot(server.pid, postgres)
        probe.start()
        started = time.monotonic()
        result = wrk_phase(args, port, path, seconds, bodies)
        elapsed = time.monotonic() - started
        commits = probe.stop()
        postgres = [pid for pid in bench_postgres_pids(conn, args.db_name) if pid != probe.pid]
        after = cpu_snapshot(server.pid, postgres)
    cpu = {name: cores * elapsed for name, cores in cores_used(before, after, elapsed).items()}
    cpu["load generator"] = result.client_cpu_seconds
    # Each worker's share: wrk's connections fall on the workers unevenly from run to run,
    # and a window in which one worker holds most of them runs at one core's pace.
    workers = {
        pid: seconds - before["gunicorn"].get(pid, 0.0)
        for pid, seconds in after["gunicorn"].items()
        if pid != server.pid
    }
    return Window(result, elapsed, cpu, workers, commits)


def windows_merged(windows: list[Window]):
    """Windows of one endpoint as one run: what measure() returns for a single window."""
    elapsed = sum(w.elapsed for w in windows)
    cores = {
        name: sum(w.cpu_seconds[name] for w in windows) / elapsed for name in windows[0].cpu_seconds
    }
    workers: dict[int, float] = {}
    for window in windows:
        for pid, seconds in window.worker_seconds.items():
            workers[pid] = workers.get(pid, 0.0) + seconds
    commits = sorted(ms for w in windows for ms in w.commits)
    result = PhaseResult.merged([w.result for w in windows])
    return result, cores, sorted((s / elapsed for s in workers.values()), reverse=True), commits


def measure(args, server, port: int, path: str, files: tuple[Path, Path] | None):
    """A warm-up run of wrk, then the measured run with CPU sampled around it."""
    warmup = wrk_phase(args, port, path, args.warmup, files[0] if files else None)
    window = measure_window(args, server, port, path, args.duration, files[1] if files else None)
    return (warmup, *windows_merged([window]))


def measure_interleaved(args, server, port: int, files: tuple[Path, Path], logs: Path):
    """Both endpoints in alternating windows of --interleave seconds, ABBA order.

    The machine's speed drifts from one minute to the next (see speed_probe), so two
    10 s runs one after the other can see different machines. Here each endpoint gets
    --duration seconds in all, cut into windows that alternate (no-op, receiver,
    receiver, no-op, ...), so both see the same mix of fast and slow moments, and every
    window opens new connections, so the split of connections between the workers is
    drawn anew each time. The receiver's measured bodies are cut into one slice per
    window: no body is sent twice.
    """
    wrk_phase(args, port, "/healthz", args.warmup, None)
    warmup = wrk_phase(args, port, "/collecting", args.warmup, files[0])
    count = max(1, round(args.duration / args.interleave))
    slices = body_slices(files[1], count, logs)
    noop_windows: list[Window] = []
    ingest_windows: list[Window] = []
    for cycle in range(count):
        order = ("noop", "ingest") if cycle % 2 == 0 else ("ingest", "noop")
        for kind in order:
            probe_ms = speed_probe()
            if kind == "noop":
                window = measure_window(args, server, port, "/healthz", args.interleave, None)
                noop_windows.append(window)
            else:
                window = measure_window(
                    args, server, port, "/collecting", args.interleave, slices[cycle]
                )
                ingest_windows.append(window)
            window.probe_ms = probe_ms
    return warmup, noop_windows, ingest_windows


def body_slices(path: Path, count: int, logs: Path) -> list[Path]:
    lines = path.read_bytes().splitlines(keepends=True)
    size = -(-len(lines) // count)
    slices = []
    for index in range(count):
        part = logs / f"measured-bodies-{index}.jsonl"
        part.write_bytes(b"".join(lines[index * size : (index + 1) * size]))
        slices.append(part)
    return slices


def speed_probe() -> float:
    """CPU milliseconds of a fixed piece of work (300,000 chained SHA-256 of 32 bytes).

    On this kind of shared virtual machine the same work takes from 90 to 190 ms from
    one minute to the next, with no other process of the machine running and no steal
    time reported: the host's load. Printed beside each window, so that a slow window
    can be told from a slow server.
    """
    started = time.process_time()
    digest = b"x" * 32
    for _ in range(300_000):
        digest = hashlib.sha256(digest).digest()
    return 1000.0 * (time.process_time() - started)


def bench_config(args, config: ServerConfig, files, logs: Path) -> list[EndpointRun]:
    port = free_port()
    reports_truncate(args)
    stdout_path = logs / f"stdout-{len(list(logs.glob('stdout-*')))}.log"
    server = server_start(args, config, port, stdout_path)
    windows: tuple[list[Window], list[Window]] = ([], [])
    try:
        wait_until_serving(port, server)
        if args.interleave:
            warmup, *windows = measure_interleaved(args, server, port, files, logs)
            noop, noop_cpu, noop_workers, noop_commits = windows_merged(windows[0])
            ingest, ingest_cpu, ingest_workers, ingest_commits = windows_merged(windows[1])
            noop_probe = statistics.fmean(w.probe_ms for w in windows[0])
            ingest_probe = statistics.fmean(w.probe_ms for w in windows[1])
        else:
            noop_probe = speed_probe()
            _, noop, noop_cpu, noop_workers, noop_commits = measure(
                args, server, port, "/healthz", None
            )
            ingest_probe = speed_probe()
            warmup, ingest, ingest_cpu, ingest_workers, ingest_commits = measure(
                args, server, port, "/collecting", files
            )
    finally:
        server_stop(server)
    accepted = ingest.statuses[202] + warmup.statuses[202]
    wrk_runs = 1 + max(1, len(windows[1]))  # the warm-up and each measured run of the receiver
    with stdout_path.open("rb") as log:
        access_lines = sum(1 for line in log if b'"GET /healthz' in line or b'"POST /coll' in line)
    return [
        EndpointRun(config, "GET /healthz", 200, noop, noop_cpu, probe_ms=noop_probe,
                    worker_cores=noop_workers, commit_ms=noop_commits,
                    window_rates=[w.rate(200) for w in windows[0]]),
        EndpointRun(config, "POST /collecting", 202, ingest, ingest_cpu,
                    accepted_total=accepted, stored=reports_stored(args),
                    in_flight_bound=wrk_runs * args.connections, access_lines=access_lines,
                    probe_ms=ingest_probe, worker_cores=ingest_workers,
                    commit_ms=ingest_commits, window_rates=[w.rate(202) for w in windows[1]]),
    ]  # fmt: skip


# --- report -------------------------------------------------------------------------------


def command_output(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine_lines(args, bodies: list[bytes]) -> list[str]:
    pg = postgres_settings(args, "server_version", "synchronous_commit")
    gunicorn_version = command_output([sys.executable, "-m", "gunicorn", "--version"])
    wrk_run = subprocess.run([wrk_path(), "--version"], capture_output=True, text=True)
    wrk_version = (wrk_run.stdout.splitlines() or ["wrk"])[0].split(" [")[0]  # exits 1
    mean_body = statistics.fmean(len(b) for b in bodies)
    return [
        machine_line(ram=False),
        f"- server: {gunicorn_version}, `-c deploy/gunicorn.conf.py` of {args.project} "
        f"(gthread, keepalive "
        f"{os.environ.get('GUNICORN_KEEPALIVE', '5')} s), DEBUG=0; "
        f"PostgreSQL {pg['server_version']} (synchronous_commit={pg['synchronous_commit']}) "
        f"at {args.pg_url}/{args.db_name}; Redis {args.redis_url}; "
        "INGEST_GLOBAL_MAX_REPORTS_PER_MINUTE=1000000000",
        f"- load: {wrk_version}, {args.wrk_threads} threads, {args.connections} keep-alive "
        "HTTP/1.1 connections (bench/ingest/velaux.lua), on the same machine; "
        f"{args.warmup:g} s warm-up then "
        f"{args.duration:g} s measured per endpoint"
        + (
            f" in alternating windows of {args.interleave:g} s (no-op, receiver, receiver, "
            "no-op, ...)"
            if args.interleave
            else ""
        )
        + f"; {len(bodies)} distinct VelaUX bodies "
        f"(mean {mean_body:.0f} bytes), each a new platformID",
    ]


def other_statuses(run: EndpointRun) -> str:
    others = [f"{n}x{s}" for s, n in sorted(run.result.statuses.items()) if s != run.ok_status]
    problems = {
        "connect errors": run.result.connect_errors,
        "read errors": run.result.read_errors,
        "write errors": run.result.write_errors,
        "timeouts": run.result.timeouts,
        "server closes": run.result.server_closes,
    }
    others += [f"{n} {name}" for name, n in problems.items() if n]
    return ", ".join(others) or "none"


def table(runs: list[EndpointRun]) -> list[str]:
    lines = [
        "| server | endpoint | ok/s | other statuses | p50 ms | p99 ms | vs no-op |",
        "|---|---|---:|---|---:|---:|---:|",
    ]
    noop_rate = {}
    for run in runs:
        if run.ok_status == 200:
            noop_rate[run.config] = run.ok_rate
            ratio = ""
        else:
            ratio = f"{run.ok_rate / noop_rate[run.config]:.2f}" if noop_rate[run.config] else "-"
        lines.append(
            f"| {run.config.label} | {run.endpoint} ({run.ok_status}) | {run.ok_rate:,.0f} | "
            f"{other_statuses(run)} | {run.percentile(0.50):.1f} | {run.percentile(0.99):.1f} | "
            f"{ratio} |"
        )
    return lines


def cpu_lines(runs: list[EndpointRun]) -> list[str]:
    """Where the cores went, and CPU time per request: steadier than rates on a shared box."""
    lines = []
    for run in runs:
        cpu = run.cpu_cores
        known = ("gunicorn", "postgres", "redis", "load generator")
        other = max(0.0, cpu["all"] - sum(cpu[name] for name in known))
        rate = sum(run.result.statuses.values()) / run.duration or 1.0
        per_request = {name: 1000.0 * cpu[name] / rate for name in known}
        total = sum(per_request.values())
        lines.append(
            f"- {run.config.label}, {run.endpoint}: {cpu['all']:.2f} of {os.cpu_count()} cores "
            f"busy = gunicorn {cpu['gunicorn']:.2f}{workers_split(run)} + "
            f"postgres {cpu['postgres']:.2f} + "
            f"redis {cpu['redis']:.2f} + load generator {cpu['load generator']:.2f} + "
            f"other processes {other:.2f}; per request "
            + " + ".join(f"{name} {ms:.2f}" for name, ms in per_request.items())
            + f" = {total:.2f} ms CPU (about {1000.0 * os.cpu_count() / total:,.0f}/s "
            f"if nothing else ran); speed probe just before: {run.probe_ms:.0f} ms; "
            + commit_probe_text(run.commit_ms)
        )
    return lines


def window_lines(runs: list[EndpointRun]) -> list[str]:
    """With --interleave: how far the windows of one run spread, and the cycles' ratios."""
    lines = []
    for noop, ingest in zip(runs[::2], runs[1::2], strict=True):
        if not ingest.window_rates:
            continue
        ratios = [i / n for n, i in zip(noop.window_rates, ingest.window_rates, strict=True) if n]
        lines.append(
            f"- {ingest.config.label}: {len(ingest.window_rates)} windows of each endpoint; "
            f"no-op {min(noop.window_rates):,.0f} to {max(noop.window_rates):,.0f}/s, "
            f"receiver {min(ingest.window_rates):,.0f} to {max(ingest.window_rates):,.0f}/s; "
            f"receiver / no-op of each cycle's pair {min(ratios):.2f} to {max(ratios):.2f} "
            f"(median {statistics.median(ratios):.2f}); all windows together "
            f"{ingest.ok_rate / noop.ok_rate:.2f}"
        )
    return lines


def workers_split(run: EndpointRun) -> str:
    if len(run.worker_cores) < 2:
        return ""
    return " (workers " + " / ".join(f"{cores:.2f}" for cores in run.worker_cores) + ")"


def verdict_lines(runs: list[EndpointRun]) -> list[str]:
    lines = []
    for noop, ingest in zip(runs[::2], runs[1::2], strict=True):
        ratio = ingest.ok_rate / noop.ok_rate if noop.ok_rate else 0.0
        checks = [
            (f">= {TARGET_RATE:,.0f} accepted/s", ingest.ok_rate >= TARGET_RATE),
            (f">= {TARGET_RATIO} of no-op", ratio >= TARGET_RATIO),
            (f"p99 < {TARGET_P99_MS:g} ms", ingest.percentile(0.99) < TARGET_P99_MS),
        ]
        stored = "" if ingest.stored_matches else " MISMATCH"
        if ingest.commit_ms and ingest.commit_ms[-1] > CommitProbe.STALL_MS:
            stored += (
                f"; a lone commit took up to {ingest.commit_ms[-1]:.0f} ms in the receiver's "
                "window: the disk stalled"
            )
        if ingest.access_lines and not ingest.config.access_log:
            stored += (
                f"; NOTE: GUNICORN_ACCESS_LOG=0 yet gunicorn wrote {ingest.access_lines:,} "
                "access-log lines (logconfig_dict keeps gunicorn's access log on)"
            )
        lines.append(
            f"- {ingest.config.label}: "
            + ", ".join(f"{name} {pass_fail(ok)}" for name, ok in checks)
            + f"; 202s {ingest.accepted_total} vs rows stored {ingest.stored} (at most "
            f"{ingest.in_flight_bound} more: answers wrk stopped before reading){stored}"
            + (f"; {ingest.result.on_the_fly} bodies made on the fly" if ingest.result.on_the_fly
               else "")
        )  # fmt: skip
    return lines


def best_config(runs: list[EndpointRun]) -> EndpointRun:
    ingest = [r for r in runs if r.ok_status == 202]
    within = [r for r in ingest if r.percentile(0.99) < TARGET_P99_MS] or ingest
    return max(within, key=lambda r: r.ok_rate)


# --- main ---------------------------------------------------------------------------------


def server_configs(args) -> list[ServerConfig]:
    pairs = [(args.workers, args.threads)]
    if args.sweep:
        pairs = [tuple(int(n) for n in item.split("x")) for item in args.sweep.split(",")]
    logs = {"off": [False], "on": [True], "both": [False, True]}[args.access_log]
    configs = [ServerConfig(w, t, log) for w, t in pairs for log in logs]
    if args.rounds == 1:
        return configs
    # round after round of every configuration, so that each sees the machine's changing load
    return [
        ServerConfig(c.workers, c.threads, c.access_log, n)
        for n in range(1, args.rounds + 1)
        for c in configs
    ]


def rounds_lines(runs: list[EndpointRun]) -> list[str]:
    """With --rounds: per configuration, each round's ratio and the medians."""
    by_kind: dict[tuple, list[tuple[EndpointRun, EndpointRun]]] = {}
    for noop, ingest in zip(runs[::2], runs[1::2], strict=True):
        by_kind.setdefault(ingest.config.kind, []).append((noop, ingest))
    lines = []
    for pairs in by_kind.values():
        ratios = [i.ok_rate / n.ok_rate if n.ok_rate else 0.0 for n, i in pairs]
        noop_rates = [n.ok_rate for n, _ in pairs]
        ingest_rates = [i.ok_rate for _, i in pairs]
        p99s = [i.percentile(0.99) for _, i in pairs]
        label = ServerConfig(*pairs[0][1].config.kind).label
        median = statistics.median(ratios)
        noop_cpu = statistics.median(n.cpu_ms_per_request for n, _ in pairs)
        ingest_cpu = statistics.median(i.cpu_ms_per_request for _, i in pairs)
        lines.append(
            f"- {label}: vs no-op per round {', '.join(f'{r:.2f}' for r in ratios)}; "
            f"median {median:.2f} (no-op {statistics.median(noop_rates):,.0f}/s, "
            f"receiver {statistics.median(ingest_rates):,.0f}/s, receiver p99 "
            f"{statistics.median(p99s):.1f} ms); {pass_fail(median >= TARGET_RATIO)} "
            f">= {TARGET_RATIO} of no-op in the median round; median CPU per request "
            f"{noop_cpu:.2f} ms no-op, {ingest_cpu:.2f} ms receiver (ratio "
            f"{noop_cpu / ingest_cpu:.2f}); speed probe "
            f"{min(r.probe_ms for pair in pairs for r in pair):.0f} to "
            f"{max(r.probe_ms for pair in pairs for r in pair):.0f} ms"
        )
    return lines


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    parser.add_argument("--sweep", help="workers x threads to compare, e.g. 2x4,3x2,4x4")
    parser.add_argument("--access-log", choices=["off", "on", "both"], default="off")
    parser.add_argument(
        "--rounds", type=int, default=1,
        help="measure every configuration this many times, round after round; prints medians",
    )  # fmt: skip
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk's -t")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument(
        "--interleave", type=float, default=0.0, metavar="SECONDS",
        help="measure both endpoints in alternating windows of this length (ABBA), "
        "--duration seconds each in all, instead of one run after the other",
    )  # fmt: skip
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--bodies", type=int, default=60_000, help="distinct bodies to pre-build")
    parser.add_argument(
        "--warmup-share", type=float, default=0.2, help="the share of the bodies for the warm-up"
    )
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--db-name", default="portal_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument(
        "--project", type=Path, default=PROJECT,
        help="the project tree to serve (a patched copy, to measure a change before making it)",
    )  # fmt: skip
    parser.add_argument("--keep-db", action="store_true", help="leave the database for a look")
    args = parser.parse_args()
    if args.connections < args.wrk_threads:
        parser.error("--connections must be at least --wrk-threads")
    for url in (args.pg_url, args.redis_url):
        if "127.0.0.1" not in url and "localhost" not in url:
            parser.error(f"{url}: the benchmark only talks to services on this machine")
    return args


def print_report(args, configs, runs, bodies, idle_load) -> None:
    report = machine_lines(args, bodies)
    report.append(f"- background load before the run: {idle_load:.2f} cores busy")
    print()
    print("\n".join(report))
    if idle_load > 0.2:
        print("WARNING: the machine was busy before the run; figures are low and noisy.")
    print()
    print("\n".join(table(runs)))
    print()
    print("CPU use during the measured windows:")
    print("\n".join(cpu_lines(runs)))
    if args.interleave:
        print("Alternating windows:")
        print("\n".join(window_lines(runs)))
    print("Targets (2-core machine):")
    print("\n".join(verdict_lines(runs)))
    if any(config.round for config in configs):
        print(f"Rounds ({configs[-1].round} of each configuration, one after the other):")
        print("\n".join(rounds_lines(runs)))
    if len(configs) > 1:
        best = best_config(runs)
        print(f"Best: {best.config.label} ({best.ok_rate:,.0f} accepted/s, "
              f"p99 {best.percentile(0.99):.1f} ms)")  # fmt: skip


def main() -> None:
    args = parse_args()
    configs = server_configs(args)
    rng = random.Random(20250314)
    bodies = [report_body(rng) for _ in range(args.bodies)]
    print(f"built {len(bodies)} distinct bodies; preparing {args.db_name} ...", flush=True)
    wrk_path()  # fail before touching the database when wrk is missing
    idle_load = background_load()
    recreate_database(args)
    runs: list[EndpointRun] = []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as logs:
        try:
            migrate(args)
            for config in configs:
                print(f"running {config.label} ...", flush=True)
                files = bodies_files(bodies, Path(logs), args.warmup_share)
                runs += bench_config(args, config, files, Path(logs))
                print("\n".join(table(runs[-2:])[2:]), flush=True)
        except BaseException:
            errors = Path(logs) / "gunicorn-error.log"
            if errors.exists():
                print(errors.read_text()[-3000:], file=sys.stderr)
            if runs:
                print("\nStopped early; the configurations measured so far:", file=sys.stderr)
                print_report(args, configs, runs, bodies, idle_load)
            raise
        finally:
            if not args.keep_db:
                drop_database(args)
    print_report(args, configs, runs, bodies, idle_load)


if __name__ == "__main__":
    main()
