"""Benchmark the VelaUX receiver (POST /collecting) against the no-op GET /healthz.

Sets everything up itself: a throwaway PostgreSQL database (dropped and
recreated), migrations, gunicorn with deploy/gunicorn.conf.py on a free
loopback port, then for each server configuration a warm-up and a fixed-length
closed-loop run of each endpoint on the same server, and finally a markdown
table. Traffic goes to 127.0.0.1 only. See bench/ingest/README.md.

    .venv/bin/python bench/ingest/run.py                  # the default configuration
    .venv/bin/python bench/ingest/run.py --sweep 2x4,3x4  # workers x threads to compare
"""

import argparse
import asyncio
import multiprocessing
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
from dataclasses import dataclass
from pathlib import Path

import psycopg
from loadgen import PhaseResult, Window, run_phase
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
ORIGIN = "http://velaux.example:8000"  # VelaUX posts cross-origin from the browser
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

    @property
    def label(self) -> str:
        log = "on" if self.access_log else "off"
        return f"{self.workers}w x {self.threads}t, access log {log}"


@dataclass
class EndpointRun:
    config: ServerConfig
    endpoint: str
    ok_status: int
    result: PhaseResult
    duration: float
    cpu_cores: dict[str, float]
    accepted_total: int = 0  # every 202, warm-up and drain included
    stored: int = 0  # report rows in the database afterwards
    access_lines: int = 0  # access-log lines gunicorn wrote for both endpoints

    @property
    def ok_rate(self) -> float:
        return self.result.statuses[self.ok_status] / self.duration

    def percentile(self, fraction: float) -> float:
        latencies = sorted(self.result.latencies_ms)
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(fraction * len(latencies)))]


# --- requests -----------------------------------------------------------------------------


def ingest_request(port: int, body: bytes) -> bytes:
    head = (
        f"POST /collecting HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        f"Accept: application/json, text/plain, */*\r\nOrigin: {ORIGIN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def noop_request(port: int) -> bytes:
    return f"GET /healthz HTTP/1.1\r\nHost: {HOST}:{port}\r\nAccept: */*\r\n\r\n".encode()


class IngestRequests:
    """Pre-built distinct bodies; if a run outlasts them, fresh ones are made on the fly."""

    def __init__(self, port: int, bodies: list[bytes], seed: int):
        self.port = port
        self.requests = [ingest_request(port, body) for body in bodies]
        self.position = 0
        self.rng = random.Random(seed)
        self.made_on_the_fly = 0

    def __call__(self) -> bytes:
        if self.position < len(self.requests):
            self.position += 1
            return self.requests[self.position - 1]
        self.made_on_the_fly += 1
        return ingest_request(self.port, report_body(self.rng))


# --- load processes -----------------------------------------------------------------------


def load_process(port, connections, make_source, window, queue) -> None:
    source = make_source()
    result = asyncio.run(run_phase(HOST, port, connections, source, window))
    result.on_the_fly = getattr(source, "made_on_the_fly", 0)
    queue.put(result)


def run_load(args, port: int, make_sources, window: Window) -> PhaseResult:
    """Run the phase in ``--client-procs`` forked processes, connections split between them."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    shares = [args.connections // args.client_procs] * args.client_procs
    for i in range(args.connections % args.client_procs):
        shares[i] += 1
    processes = [
        context.Process(target=load_process, args=(port, share, make_sources[i], window, queue))
        for i, share in enumerate(shares)
    ]
    for process in processes:
        process.start()
    total = PhaseResult()
    for _ in processes:
        part = queue.get(timeout=window.measure_until - time.monotonic() + 120)
        total.merge(part)
    for process in processes:
        process.join()
    return total


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


def measure(args, server, port: int, make_sources: list) -> tuple[PhaseResult, dict]:
    """One warm-up plus measured window; CPU use of each side is sampled around the window."""
    start = time.monotonic() + 1.0  # time for the load processes to build their requests
    window = Window(start, start + args.warmup, start + args.warmup + args.duration)
    samples: dict[str, dict[str, float]] = {}

    def sample_cpu() -> None:
        with admin_connection(args) as conn:
            time.sleep(max(0.0, window.measure_from - time.monotonic()))
            samples["from"] = cpu_snapshot(server.pid, bench_postgres_pids(conn, args.db_name))
            time.sleep(max(0.0, window.measure_until - time.monotonic()))
            samples["until"] = cpu_snapshot(server.pid, bench_postgres_pids(conn, args.db_name))

    sampler = threading.Thread(target=sample_cpu)
    sampler.start()
    result = run_load(args, port, make_sources, window)
    sampler.join()
    cores = cores_used(samples["from"], samples["until"], args.duration)
    cores["load generator"] = result.client_cpu_seconds / args.duration
    return result, cores


def bench_config(args, config: ServerConfig, bodies: list[bytes], logs: Path) -> list[EndpointRun]:
    port = free_port()
    reports_truncate(args)
    stdout_path = logs / f"stdout-{len(list(logs.glob('stdout-*')))}.log"
    server = server_start(args, config, port, stdout_path)
    try:
        wait_until_serving(port, server)
        noop_sources = [lambda: lambda: noop_request(port)] * args.client_procs
        share = len(bodies) // args.client_procs
        ingest_sources = [
            lambda i=i: IngestRequests(port, bodies[i * share : (i + 1) * share], seed=i)
            for i in range(args.client_procs)
        ]
        noop, noop_cpu = measure(args, server, port, noop_sources)
        ingest, ingest_cpu = measure(args, server, port, ingest_sources)
    finally:
        server_stop(server)
    accepted = ingest.statuses[202] + ingest.warmup_statuses[202] + ingest.drained_statuses[202]
    with stdout_path.open("rb") as log:
        access_lines = sum(1 for line in log if b'"GET /healthz' in line or b'"POST /coll' in line)
    return [
        EndpointRun(config, "GET /healthz", 200, noop, args.duration, noop_cpu),
        EndpointRun(config, "POST /collecting", 202, ingest, args.duration, ingest_cpu,
                    accepted_total=accepted, stored=reports_stored(args),
                    access_lines=access_lines),
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
    mean_body = statistics.fmean(len(b) for b in bodies)
    return [
        machine_line(ram=False),
        f"- server: {gunicorn_version}, `-c deploy/gunicorn.conf.py` of {args.project} "
        f"(gthread, keepalive "
        f"{os.environ.get('GUNICORN_KEEPALIVE', '5')} s), DEBUG=0; "
        f"PostgreSQL {pg['server_version']} (synchronous_commit={pg['synchronous_commit']}) "
        f"at {args.pg_url}/{args.db_name}; Redis {args.redis_url}; "
        "INGEST_GLOBAL_MAX_REPORTS_PER_MINUTE=1000000000",
        f"- load: {args.connections} keep-alive HTTP/1.1 connections from {args.client_procs} "
        f"asyncio process(es) on the same machine, {args.warmup:g} s warm-up then "
        f"{args.duration:g} s measured per endpoint; {len(bodies)} distinct VelaUX bodies "
        f"(mean {mean_body:.0f} bytes), each a new platformID",
    ]


def other_statuses(run: EndpointRun) -> str:
    others = [f"{n}x{s}" for s, n in sorted(run.result.statuses.items()) if s != run.ok_status]
    problems = {
        "dropped": run.result.dropped_connections,
        "protocol errors": run.result.protocol_errors,
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
            f"busy = gunicorn {cpu['gunicorn']:.2f} + postgres {cpu['postgres']:.2f} + "
            f"redis {cpu['redis']:.2f} + load generator {cpu['load generator']:.2f} + "
            f"other processes {other:.2f}; per request "
            + " + ".join(f"{name} {ms:.2f}" for name, ms in per_request.items())
            + f" = {total:.2f} ms CPU (about {1000.0 * os.cpu_count() / total:,.0f}/s "
            "if nothing else ran)"
        )
    return lines


def verdict_lines(runs: list[EndpointRun]) -> list[str]:
    lines = []
    for noop, ingest in zip(runs[::2], runs[1::2], strict=True):
        ratio = ingest.ok_rate / noop.ok_rate if noop.ok_rate else 0.0
        checks = [
            (f">= {TARGET_RATE:,.0f} accepted/s", ingest.ok_rate >= TARGET_RATE),
            (f">= {TARGET_RATIO} of no-op", ratio >= TARGET_RATIO),
            (f"p99 < {TARGET_P99_MS:g} ms", ingest.percentile(0.99) < TARGET_P99_MS),
        ]
        stored = "" if ingest.stored == ingest.accepted_total else " MISMATCH"
        if ingest.access_lines and not ingest.config.access_log:
            stored += (
                f"; NOTE: GUNICORN_ACCESS_LOG=0 yet gunicorn wrote {ingest.access_lines:,} "
                "access-log lines (logconfig_dict keeps gunicorn's access log on)"
            )
        lines.append(
            f"- {ingest.config.label}: "
            + ", ".join(f"{name} {pass_fail(ok)}" for name, ok in checks)
            + f"; 202s {ingest.accepted_total} vs rows stored {ingest.stored}{stored}"
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
    return [ServerConfig(w, t, log) for w, t in pairs for log in logs]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    parser.add_argument("--sweep", help="workers x threads to compare, e.g. 2x4,3x2,4x4")
    parser.add_argument("--access-log", choices=["off", "on", "both"], default="off")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--client-procs", type=int, default=1)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--bodies", type=int, default=60_000, help="distinct bodies to pre-build")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--db-name", default="portal_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument(
        "--project", type=Path, default=PROJECT,
        help="the project tree to serve (a patched copy, to measure a change before making it)",
    )  # fmt: skip
    parser.add_argument("--keep-db", action="store_true", help="leave the database for a look")
    args = parser.parse_args()
    if args.connections < args.client_procs:
        parser.error("--connections must be at least --client-procs")
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
    print("Targets (2-core machine):")
    print("\n".join(verdict_lines(runs)))
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
    idle_load = background_load()
    recreate_database(args)
    runs: list[EndpointRun] = []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as logs:
        try:
            migrate(args)
            for config in configs:
                print(f"running {config.label} ...", flush=True)
                runs += bench_config(args, config, bodies, Path(logs))
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
