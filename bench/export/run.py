"""Benchmark dataset exports: CSV, JSON Lines and Parquet builds against a plain COPY.

Sets everything up itself on PostgreSQL: a throwaway database (dropped and recreated,
dropped again at the end unless --keep-db), migrations, then

1. ``generate_telemetry`` loads a synthetic fleet of ~1.1 x the large size over --days
   days ending --end-date, then ``VACUUM (ANALYZE) ingest_report`` (this machine's
   PostgreSQL runs with autovacuum off);
2. a grantee files a request through ``access_request_submit`` (all nine elements,
   dataset ``reports``) and a maintainer approves it with ``access_request_approve``,
   once per size, each grant's period being the run of last days whose reports come
   closest to --rows (1,000,000) and --scale x --rows (4,000,000);
3. per size: a warm-up COPY, then --repeat times a plain ``COPY (SELECT <the granted
   columns> ... ORDER BY report_date, id) TO STDOUT WITH (FORMAT csv)`` streamed to
   /dev/null followed by a CSV export build; then one JSON Lines and one Parquet build,
   and one COPY through psql's ``\\copy`` (the C client, for reference);
4. every build is ``export_request`` (Celery hand-off disabled) in this process and
   ``services.export_build(export_id=...)`` in a fresh subprocess -- what the
   Celery task runs -- which reports its wall time, its CPU time and its peak RSS
   (``ru_maxrss`` and VmHWM) when done;
5. prints the machine, the load average and the CPU the rest of the machine used
   during each measurement, a markdown table and the targets.

Only 127.0.0.1 is contacted. See bench/export/README.md.

    .venv/bin/python bench/export/run.py --rows 200000   # quick: 200k and 800k rows, ~4 min
    .venv/bin/python bench/export/run.py                 # the full run: 1M and 4M rows
"""

import argparse
import json
import os
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg

SCRIPT = Path(__file__).resolve()
sys.path.insert(0, str(SCRIPT.parents[1]))  # bench/, for harness
from harness import (  # noqa: E402
    CLOCK_TICKS,
    WORK_TREE,
    admin_connection,
    bench_connection,
    close_connections,
    configure_environment,
    drop_database,
    fleet_size,
    generate_fleet,
    git_output,
    loadavg,
    log,
    machine_busy_ticks,
    machine_line,
    manage,
    pass_fail,
    postgres_settings,
    process_cpu_ticks,
    recreate_database,
    reports_grant,
    setup_django,
    snapshot_head,
    timed_sql,
)

# The project measured: this work tree, or with --snapshot a `git archive` of HEAD
# (the build workers learn it from BENCH_EXPORT_PROJECT).
PROJECT = Path(os.environ.get("BENCH_EXPORT_PROJECT", WORK_TREE))

FORMATS = ("csv", "jsonl", "parquet")
# The acceptance: rows/s of each build over the same run's COPY, at both sizes.
RATIO_TARGETS = {"csv": 0.8, "jsonl": 0.7, "parquet": 0.7}
PEAK_TARGET_MIB = 250e6 / 2**20  # peak worker RSS under 250 MB (238 MiB)
GROWTH_TARGET = 0.20
CHILDREN: list[subprocess.Popen] = []  # the build worker running, stopped on exit


def mib(kib: float) -> float:
    return kib / 1024


def proc_status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


# --- the build, in a fresh process ------------------------------------------------------------


def driver(argv: list[str]) -> None:
    """``export_build`` in this fresh process; prints BEGIN, END, then a JSON result.

    Everything a Celery worker would have loaded (Django, the export modules,
    pyarrow) is imported before the baseline is read, so "baseline" is the idle
    worker and "peak" what building the export added to it. ``--batch-rows``
    changes the app's BATCH_ROWS, only in this process, to measure a change before
    making it.
    """
    parser = argparse.ArgumentParser()
    parser.add_argument("export_id", type=int)
    parser.add_argument("--batch-rows", type=int)
    options = parser.parse_args(argv)
    export_id = options.export_id
    setup_django(PROJECT)
    from access_requests import export_files
    from access_requests.models import Export
    from access_requests.services import exports as export_services

    if options.batch_rows:
        export_files.BATCH_ROWS = options.batch_rows

    timings: dict[str, float] = {}

    def timed(name, function):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                timings[name] = time.perf_counter() - started

        return wrapper

    # Timers around two module attributes, looked up by export_build at call time.
    export_files.count_rows = timed("count_s", export_files.count_rows)
    export_files.build_file = timed("build_file_s", export_files.build_file)
    # A worker that has run a task before has its URLconf loaded (the READY email links
    # the request's page); in a fresh process the first reverse() imports every view,
    # ~0.2 s spent inside export_build that a long-lived worker spends once.
    from django.urls import reverse

    reverse("access-request-detail", args=[1])
    baseline_kib = proc_status_kib("VmRSS")
    baseline_peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("BEGIN", flush=True)
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    export_services.export_build(export_id=export_id)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    print("END", flush=True)
    export = Export.objects.get(pk=export_id)
    result = {
        "wall_s": wall,
        **timings,
        "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "state": export.state,
        "error": export.error,
        "rows": export.rows,
        "size": export.size_bytes,
        "sha256": export.sha256,
        "file": export.file_name,
        "baseline_rss_kib": baseline_kib,
        "baseline_peak_kib": baseline_peak_kib,
        "maxrss_kib": after.ru_maxrss,
        "vmhwm_kib": proc_status_kib("VmHWM"),
    }
    print("RESULT " + json.dumps(result), flush=True)


# --- CPU of the machine, of this benchmark and of the rest ----------------------------------


class CpuSampler(threading.Thread):
    """Polls the CPU time of the bench database's PostgreSQL backends.

    A backend's process title names its database, so its CPU can be told apart
    from the other benchmarks sharing the machine. Backends that end between two
    polls lose at most one interval of CPU.
    """

    def __init__(self, db_name: str, interval: float = 0.5):
        super().__init__(daemon=True)
        self.marker = f" {db_name} ".encode()
        self.interval = interval
        self.ticks: dict[int, int] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def poll(self) -> None:
        seen = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                title = Path(f"/proc/{entry.name}/cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"postgres:") and self.marker in title:
                ticks = process_cpu_ticks(int(entry.name))
                if ticks is not None:
                    seen[int(entry.name)] = ticks
        with self.lock:
            self.ticks.update(seen)

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            self.poll()

    def mark(self) -> dict:
        self.poll()
        with self.lock:
            backends = dict(self.ticks)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "time": time.perf_counter(),
            "machine": machine_busy_ticks(),
            "backends": backends,
            "self": usage.ru_utime + usage.ru_stime,
        }

    def since(self, start: dict) -> dict:
        end = self.mark()
        backends = sum(
            ticks - start["backends"].get(pid, 0)
            for pid, ticks in end["backends"].items()
            if ticks >= start["backends"].get(pid, 0)
        )
        return {
            "wall_s": end["time"] - start["time"],
            "machine_s": (end["machine"] - start["machine"]) / CLOCK_TICKS,
            "postgres_s": backends / CLOCK_TICKS,
            "self_s": end["self"] - start["self"],
        }


# --- results -------------------------------------------------------------------------------


@dataclass
class Measure:
    size: str  # "1M" or "4M"
    what: str  # "COPY", "COPY (psql)", "csv", "jsonl", "parquet"
    rows: int
    seconds: float
    bytes_out: int  # the CSV for COPY, the file for a build
    load: str
    client_cpu_s: float
    postgres_s: float
    others_s: float  # CPU the rest of the machine used meanwhile (core-seconds)
    build: dict = field(default_factory=dict)  # the driver's result, for builds

    @property
    def rate(self) -> float:
        return self.rows / self.seconds

    @property
    def others_cores(self) -> float:
        return self.others_s / self.seconds

    @property
    def peak_mib(self) -> float:
        return mib(self.build.get("maxrss_kib", 0))


def account(cpu: dict, client_cpu_s: float) -> tuple[float, float]:
    """(PostgreSQL CPU of this bench, CPU of everything else on the machine) in seconds."""
    others = cpu["machine_s"] - cpu["postgres_s"] - cpu["self_s"] - client_cpu_s
    return cpu["postgres_s"], max(0.0, others)


# --- database --------------------------------------------------------------------------------


def database_has_reports(args) -> bool:
    with admin_connection(args) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.db_name])
        if found.fetchone() is None:
            return False
    with bench_connection(args) as conn:
        table = conn.execute("SELECT to_regclass('ingest_report')").fetchone()[0]
        return (
            bool(table) and conn.execute("SELECT EXISTS (SELECT FROM ingest_report)").fetchone()[0]
        )


def load(args, rows: int) -> dict:
    installations = fleet_size(rows, args.days, args.end_date, args.seed)
    generated = generate_fleet(
        installations, args.days, args.end_date, args.seed, project=PROJECT, timeout=3 * 3600
    )
    vacuum_s = timed_sql(args, "VACUUM (ANALYZE) ingest_report")
    return {"installations": installations, "load_s": generated["wall_s"], "vacuum_s": vacuum_s}


def save_load(args, load_info: dict) -> None:
    """Keep the load's figures in the bench database, for a later --reuse-db report."""
    with bench_connection(args) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_export_load (data jsonb NOT NULL)")
        conn.execute("DELETE FROM bench_export_load")
        conn.execute("INSERT INTO bench_export_load VALUES (%s)", [json.dumps(load_info)])


def saved_load(args) -> dict | None:
    with bench_connection(args) as conn:
        if not conn.execute("SELECT to_regclass('bench_export_load')").fetchone()[0]:
            return None
        row = conn.execute("SELECT data FROM bench_export_load").fetchone()
    return row[0] if row else None


def day_counts(args) -> list[tuple[date, int]]:
    with bench_connection(args) as conn:
        return conn.execute(
            "SELECT report_date, count(*) FROM ingest_report GROUP BY 1 ORDER BY 1 DESC"
        ).fetchall()


def period_for(counts: list[tuple[date, int]], target: int) -> tuple[date, date, int]:
    """The run of last days whose reports come closest to ``target``."""
    best, total = None, 0
    for day, count in counts:  # newest first
        total += count
        if best is None or abs(total - target) < abs(best[2] - target):
            best = (day, counts[0][0], total)
        if total > target:
            break
    if best[2] < 0.9 * target:
        log(f"warning: only {best[2]:,} rows for a target of {target:,}")
    return best


# --- grants and exports (Django in this process) ---------------------------------------------


def make_people():
    from django.contrib.auth import get_user_model

    from tests.access_requests.factories import UserFactory

    users = get_user_model().objects
    grantee = users.filter(username="bench-grantee").first() or UserFactory(
        username="bench-grantee"
    )
    reviewer = users.filter(username="bench-reviewer").first() or UserFactory(
        username="bench-reviewer", is_staff=True, groups=["maintainers"]
    )
    return grantee, reviewer


def every_approved_element() -> list[str]:
    """What the published policy approves (the nine elements of version 1)."""
    from ingest.selectors import policy_get_enforced

    return sorted(policy_get_enforced().approved)


def new_export(grant, file_format: str) -> int:
    from access_requests.models import Export
    from access_requests.services import exports as export_services

    # Every measurement builds anew: an identical request would return the last build.
    Export.objects.filter(grant=grant).update(state=Export.State.EXPIRED)
    export = export_services.export_request(
        grant=grant,
        user=grant.grantee,
        file_format=file_format,
        first=grant.period_start,
        last=grant.period_end,
    )
    return export.pk


def no_enqueue(*, export_id: int) -> bool:
    """Without REDIS_URL Celery runs eagerly: the build would run in this process."""
    return True


def copy_columns(grant) -> list[str]:
    """The columns behind the grant's fields: the raw platform ID and date."""
    from access_requests import grant_scope

    raw = {"installation": "platform_id", "date": "report_date"}
    return [raw.get(name, name) for name in grant_scope.granted_fields(grant)]


# --- measurements ------------------------------------------------------------------------------


def wait_until_quiet(args, sampler) -> str:
    """Wait (at most --quiet-wait s) until the rest of the machine uses < --quiet-cores.

    Measured over 2 s windows from /proc (the load average lags by a minute and
    counts this benchmark's own previous run). Returns the load average to print.
    """
    deadline = time.monotonic() + args.quiet_wait
    while time.monotonic() < deadline:
        start = sampler.mark()
        time.sleep(2)
        cpu = sampler.since(start)
        if account(cpu, 0.0)[1] / cpu["wall_s"] < args.quiet_cores:
            break
    return loadavg()


def plain_copy(args, sampler, grant, size: str) -> Measure:
    columns = ", ".join(copy_columns(grant))
    sql = (
        f"COPY (SELECT {columns} FROM ingest_report WHERE report_date BETWEEN %s AND %s "  # noqa: S608
        "ORDER BY report_date, id) TO STDOUT WITH (FORMAT csv)"
    )
    load_now = wait_until_quiet(args, sampler)
    rows = size_bytes = 0
    with bench_connection(args) as conn, open(os.devnull, "wb") as sink:
        start = sampler.mark()
        with (
            conn.cursor() as cursor,
            cursor.copy(sql, [grant.period_start, grant.period_end]) as copy,
        ):
            for chunk in copy:
                sink.write(chunk)
                size_bytes += len(chunk)
                rows += 1  # libpq hands COPY out one row at a time
        cpu = sampler.since(start)
    postgres, others = account(cpu, 0.0)
    return Measure(
        size, "COPY", rows, cpu["wall_s"], size_bytes, load_now, cpu["self_s"], postgres, others
    )


def psql_copy(args, sampler, grant, size: str) -> Measure:
    columns = ", ".join(copy_columns(grant))
    command = (
        f"\\copy (SELECT {columns} FROM ingest_report WHERE report_date BETWEEN "  # noqa: S608
        f"'{grant.period_start}' AND '{grant.period_end}' ORDER BY report_date, id) "
        "TO '/dev/null' WITH (FORMAT csv)"
    )
    load_now = wait_until_quiet(args, sampler)
    start = sampler.mark()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        ["psql", f"{args.pg_url}/{args.db_name}", "-X", "-c", command],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    cpu = sampler.since(start)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    if done.returncode:
        raise SystemExit(f"psql failed: {done.stderr}")
    rows = int(done.stdout.split()[-1]) if done.stdout.strip() else 0
    postgres, others = account(cpu, client)
    return Measure(size, "COPY (psql)", rows, cpu["wall_s"], 0, load_now, client, postgres, others)


def build(args, sampler, grant, what: str, size: str, expected: int) -> Measure:
    """export_request here, export_build in a fresh process.

    ``what`` is a format. The file is deleted afterwards.
    """
    export_id = new_export(grant, what)
    close_connections()
    command = [sys.executable, str(SCRIPT), "--driver", str(export_id)]
    if args.batch_rows:
        command += ["--batch-rows", str(args.batch_rows)]
    load_now = wait_until_quiet(args, sampler)
    with tempfile.TemporaryFile("w+") as errors:
        child = subprocess.Popen(
            command, cwd=PROJECT, stdout=subprocess.PIPE, stderr=errors, text=True
        )
        CHILDREN.append(child)
        limit = threading.Timer(args.timeout, child.kill)  # a stuck build ends the run
        limit.start()
        start = cpu = None
        result = {}
        for line in child.stdout:
            if line.startswith("BEGIN"):
                start = sampler.mark()
            elif line.startswith("END"):
                cpu = sampler.since(start)
            elif line.startswith("RESULT "):
                result = json.loads(line[len("RESULT ") :])
        code = child.wait()
        limit.cancel()
        CHILDREN.remove(child)
        if code or not result or cpu is None:
            errors.seek(0)
            raise SystemExit(f"the {what} build failed:\n{errors.read()[-3000:]}")
    if result["state"] != "ready" or result["rows"] != expected:
        raise SystemExit(f"the {what} build: {result} (expected {expected:,} rows)")
    (Path(os.environ["MEDIA_ROOT"]) / "exports" / result["file"]).unlink(missing_ok=True)
    postgres, others = account(cpu, result["cpu_s"])
    return Measure(
        size,
        what,
        result["rows"],
        result["wall_s"],
        result["size"],
        load_now,
        result["cpu_s"],
        postgres,
        others,
        result,
    )


def describe(m: Measure) -> str:
    extra = f", peak RSS {m.peak_mib:.0f} MiB" if m.build else ""
    return (
        f"{m.size} {m.what}: {m.rows:,} rows in {m.seconds:.1f} s = {m.rate:,.0f} rows/s"
        f"{extra}; client CPU {m.client_cpu_s:.1f} s, PostgreSQL {m.postgres_s:.1f} s, "
        f"others {m.others_cores:.2f} cores; load {m.load}"
    )


def runs_of(args) -> tuple[list[str], list[str]]:
    """(builds paired with a COPY, builds run once)."""
    if args.pair_all:
        return list(args.formats), []
    paired = ["csv"] if "csv" in args.formats else []
    once = [f for f in args.formats if f != "csv"]
    return paired, once


def pairs_of(results: list, size: str, what: str) -> list[tuple]:
    """Each build of ``what`` with the COPY run just before it (same size), in run order."""
    pairs, last_copy = [], None
    for m in results:
        if m.size != size:
            continue
        if m.what == "COPY":
            last_copy = m
        elif m.what == what and last_copy is not None:
            pairs.append((last_copy, m))
            last_copy = None
    return pairs


def measure_size(args, sampler, grant, size: str, expected: int) -> list[Measure]:
    log(f"--- {size}: {grant.period_start} to {grant.period_end}, {expected:,} rows")
    warm = plain_copy(args, sampler, grant, size)
    log(f"warm-up {describe(warm)}")
    paired, once = runs_of(args)
    results = []
    for _ in range(args.repeat):
        for index, what in enumerate(paired or [None]):
            if index == 0 or args.pair_all:  # --pair-all: a COPY before every build
                results.append(plain_copy(args, sampler, grant, size))
                log(describe(results[-1]))
            if what is not None:
                results.append(build(args, sampler, grant, what, size, expected))
                log(describe(results[-1]))
    for what in once:
        results.append(build(args, sampler, grant, what, size, expected))
        log(describe(results[-1]))
    results.append(psql_copy(args, sampler, grant, size))
    log(describe(results[-1]))
    return results


# --- the report ---------------------------------------------------------------------------------


def median_of(results: list[Measure], size: str, what: str) -> Measure:
    """The run with the median rate (the lower middle one of an even count)."""
    runs = sorted((m for m in results if m.size == size and m.what == what), key=lambda m: m.rate)
    return runs[(len(runs) - 1) // 2]


def machine_lines(args) -> list[str]:
    settings = postgres_settings(
        args, "server_version", "shared_buffers", "work_mem", "autovacuum", "jit"
    )
    version = settings.pop("server_version")
    import pyarrow

    pool = pyarrow.default_memory_pool().backend_name
    commit = git_output(WORK_TREE, "rev-parse", "--short", "HEAD")
    if PROJECT != WORK_TREE:
        code = f"{commit} (a snapshot of HEAD: --snapshot)"
    else:
        dirty = git_output(
            WORK_TREE, "status", "--porcelain", "access_requests", "ingest", "portal"
        )
        code = f"{commit}{' with uncommitted changes in the app' if dirty else ''} (work tree)"
    return [
        machine_line(
            f"pyarrow {pyarrow.__version__} ({pool} memory pool)",
            f"psycopg {psycopg.__version__} ({psycopg.pq.__impl__})",
        ),
        f"- PostgreSQL {version} ({', '.join(f'{k}={v}' for k, v in settings.items())})",
        f"- code measured: {code}",
    ]


def table_rows(results: list[Measure], size: str) -> list[Measure]:
    order = ["COPY", "COPY (psql)"]
    order += [f for f in FORMATS if any(m.what == f for m in results)]
    return [median_of(results, size, what) for what in order]


def target_lines(
    results: list[Measure], sizes: list[str], pair_all: bool = False
) -> tuple[bool, list[str]]:
    """The targets: each format's rows/s over COPY's, its peak RSS and the growth.

    With --pair-all a format's ratio is the median over its builds of the build's rate
    over the COPY run just before it; otherwise the median build's over the median COPY's.
    """
    ok, lines = True, []
    builds = {m.what for m in results if m.build}
    for fmt in FORMATS:
        if fmt not in builds:
            continue
        for size in sizes:
            if pair_all:
                ratios = [b.rate / c.rate for c, b in pairs_of(results, size, fmt)]
                ratio = statistics.median(ratios)
                how = f", median of {len(ratios)} pairs with the COPY just before"
            else:
                ratio = median_of(results, size, fmt).rate / median_of(results, size, "COPY").rate
                how = ""
            ok &= ratio >= RATIO_TARGETS[fmt]
            lines.append(
                f"- {pass_fail(ratio >= RATIO_TARGETS[fmt])} {size}: {fmt} / COPY throughput "
                f"= {ratio:.3f}{how} (target >= {RATIO_TARGETS[fmt]})"
            )
    small, large = sizes
    for fmt in FORMATS:
        if fmt not in builds:
            continue
        peaks = {
            size: max(m.peak_mib for m in results if m.size == size and m.what == fmt)
            for size in sizes
        }
        worst = max(peaks.values())
        growth = peaks[large] / peaks[small] - 1
        ok &= worst < PEAK_TARGET_MIB and growth <= GROWTH_TARGET
        lines.append(
            f"- {pass_fail(worst < PEAK_TARGET_MIB)} {fmt}: peak RSS {peaks[small]:.0f} MiB at "
            f"{small}, {peaks[large]:.0f} MiB at {large} (target < {PEAK_TARGET_MIB:.0f} MiB, "
            f"250 MB); {pass_fail(growth <= GROWTH_TARGET)} growth {small} -> {large} "
            f"{growth:+.1%} (target <= {GROWTH_TARGET:.0%})"
        )
    return ok, lines


def report(args, results: list[Measure], setup: dict, started: float) -> bool:
    sizes = [size for size, _ in setup["sizes"]]
    lines = ["", "## Export benchmark", ""]
    lines.append("- command: `" + shlex.join([".venv/bin/python", *setup["argv"]]) + "`")
    lines += machine_lines(args)
    load = setup.get("load")
    if load:
        lines.append(
            f"- data: {setup['total_rows']:,} reports from {load['installations']:,} "
            f"installations over {load.get('days', args.days)} days ending "
            f"{load.get('end', args.end_date)} (seed {load.get('seed', args.seed)}); loaded in "
            f"{load['load_s']:.0f} s, VACUUM (ANALYZE) {load['vacuum_s']:.0f} s"
            + (" (an earlier run; --reuse-db)" if "days" in load else "")
        )
    else:
        lines.append(f"- data: {setup['total_rows']:,} reports (reused database)")
    for size, grant in setup["sizes"]:
        lines.append(
            f"- {size}: grant period {grant['first']} to {grant['last']}, {grant['rows']:,} rows"
        )
    if args.batch_rows:
        lines.append(
            f"- what-if: export_files.BATCH_ROWS = {args.batch_rows:,} in the build workers "
            "(the app's writers; Parquet row groups are that size too)"
        )
    lines.append(
        f"- load average (1/5/15 min) at start {setup['load_start']}, at end {loadavg()}; "
        + (
            f"{args.repeat} builds of each format per size, each after a COPY of its own "
            if args.pair_all
            else f"{args.repeat} runs of COPY and of each CSV build per size "
        )
        + f"(the median is in the table), total {(time.perf_counter() - started) / 60:.1f} min"
    )
    lines += [
        "",
        "| rows | run | s | rows/s | MB/s | file MB | vs COPY | peak RSS MiB (idle) "
        "| client CPU s | PG CPU s | others (cores) | load avg |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for size in sizes:
        copy = median_of(results, size, "COPY")
        for m in table_rows(results, size):
            mbs = f"{m.bytes_out / m.seconds / 1e6:.0f}" if m.what == "COPY" else ""
            file_mb = f"{m.bytes_out / 1e6:.0f}" if m.build else ""
            ratio = f"{m.rate / copy.rate:.2f}" if m.what != "COPY" else "1"
            peak = f"{m.peak_mib:.0f} ({mib(m.build['baseline_rss_kib']):.0f})" if m.build else ""
            lines.append(
                f"| {m.rows:,} | {m.what} | {m.seconds:.1f} | {m.rate:,.0f} | {mbs} | {file_mb} "
                f"| {ratio} | {peak} | {m.client_cpu_s:.1f} | {m.postgres_s:.1f} "
                f"| {m.others_cores:.2f} | {m.load} |"
            )
    paired, _ = runs_of(args)
    if paired:
        names = " and ".join(["COPY", *paired])
        lines += ["", f"Every {names} run, in order (adjacent runs share the machine's load):"]
        lines.append("")
        for size in sizes:
            for what in paired:
                pairs = ", ".join(
                    f"{c.rate:,.0f} / {e.rate:,.0f} = {e.rate / c.rate:.2f}"
                    for c, e in pairs_of(results, size, what)
                )
                lines.append(f"- {size}, COPY / {what} rows/s: {pairs}")
    lines += ["", "Build phases (median runs), s: count(*) / build_file / rest of export_build", ""]
    for size in sizes:
        parts = []
        for m in table_rows(results, size):
            if m.build:
                b = m.build
                rest = b["wall_s"] - b.get("count_s", 0) - b.get("build_file_s", 0)
                parts.append(
                    f"{m.what} {b.get('count_s', 0):.2f} / {b.get('build_file_s', 0):.1f} / "
                    f"{rest:.2f}"
                )
        lines.append(f"- {size}: " + "; ".join(parts))

    ok, targets = target_lines(results, sizes, args.pair_all)
    lines += ["", "Targets:", "", *targets]
    lines += [
        "",
        "Columns: s and rows/s are export_build's wall time in the worker process (the claim,",
        "count(*), the file, its move into place and the READY update; not the process",
        "start-up), or the COPY's. MB/s: uncompressed CSV from COPY. vs COPY: rows/s over the",
        "median COPY's. peak RSS: ru_maxrss of the fresh worker process at the end (idle: its",
        "RSS after django.setup() and the export imports). client CPU: the worker's (or this",
        "script's / psql's for COPY). PG CPU: this database's backends. others: CPU used by",
        "every other process on the machine meanwhile, in cores (nproc "
        f"{os.cpu_count()}); above ~0.3 the rates are depressed by other work.",
    ]
    print("\n".join(lines), flush=True)
    return ok


# --- the run -------------------------------------------------------------------------------


def formats(value: str) -> list[str]:
    chosen = [name.strip() for name in value.split(",") if name.strip()]
    unknown = set(chosen) - set(FORMATS)
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"formats are {', '.join(FORMATS)}")
    return [name for name in FORMATS if name in chosen]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="rows of the small grant (1,000,000)"
    )
    parser.add_argument(
        "--scale", type=int, default=4, help="the large grant has --scale x --rows rows (4)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of COPY and of each CSV build per size (3)"
    )
    parser.add_argument(
        "--pair-all",
        action="store_true",
        help="--repeat builds of every format, each after a COPY of its own; each ratio is "
        "the median of the builds' rates over the COPY just before",
    )
    parser.add_argument(
        "--formats", type=formats, default=list(FORMATS), help="csv,jsonl,parquet (all)"
    )
    parser.add_argument(
        "--batch-rows",
        type=int,
        help="what-if: export_files.BATCH_ROWS in the build workers",
    )
    parser.add_argument("--days", type=int, default=365, help="days of reports loaded (365)")
    parser.add_argument(
        "--end-date", type=date.fromisoformat, default=date(2026, 3, 31), help="last day"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--quiet-cores",
        type=float,
        default=0.3,
        help="before each measurement, wait until other processes use fewer cores (0.3)",
    )
    parser.add_argument(
        "--quiet-wait", type=float, default=30, help="...but at most this many seconds (30)"
    )
    parser.add_argument(
        "--timeout", type=float, default=1800, help="limit of one build, seconds (1800)"
    )
    parser.add_argument(
        "--snapshot",
        action="store_true",
        help="measure HEAD exported by `git archive` (others may edit the work tree meanwhile)",
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the database at the end")
    parser.add_argument(
        "--load-only",
        action="store_true",
        help="create and load the database, keep it and stop (measure later with --reuse-db)",
    )
    parser.add_argument(
        "--reuse-db", action="store_true", help="measure a kept database without loading again"
    )
    parser.add_argument("--db-name", default="portal_bench_export")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    args = parser.parse_args(argv)
    if "127.0.0.1" not in args.pg_url and "localhost" not in args.pg_url:
        parser.error("--pg-url: local PostgreSQL only")
    if args.repeat < 1 or args.scale < 2 or args.rows < 1000:
        parser.error("--repeat >= 1, --scale >= 2 and --rows >= 1000")
    args.small_label = f"{args.rows / 1e6:g}M"
    return args


def stop(signum, frame) -> None:
    raise SystemExit(128 + signum)  # run the clean-up below: worker, files, database


def snapshot() -> Path:
    """HEAD exported into a temporary folder: edits of the work tree cannot reach the run."""
    global PROJECT
    folder, _ = snapshot_head(WORK_TREE, prefix="bench-export-head-")
    PROJECT = folder
    os.environ["BENCH_EXPORT_PROJECT"] = str(folder)
    return folder


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    started = time.perf_counter()
    media = Path(tempfile.mkdtemp(prefix="bench-export-"))
    configure_environment(
        args,
        MEDIA_ROOT=str(media),
        LOG_LEVEL="WARNING",
        REDIS_URL=None,  # no broker: builds are driven here
        EXPORT_S3_BUCKET=None,  # files stay in MEDIA_ROOT
    )
    copy = snapshot() if args.snapshot else None
    if copy:
        log(f"measuring a snapshot of HEAD in {copy}")
    sys.path.insert(0, str(PROJECT))
    sizes = [
        (args.small_label, args.rows),
        (f"{args.rows * args.scale / 1e6:g}M", args.rows * args.scale),
    ]
    setup = {"argv": ["bench/export/run.py", *argv], "load_start": loadavg()}
    log(f"nproc {os.cpu_count()}, load average {setup['load_start']}")
    sampler = CpuSampler(args.db_name)
    sampler.start()
    ok = False
    try:
        reuse = args.reuse_db and database_has_reports(args)
        if reuse:
            log(f"reusing {args.db_name}")
        else:
            recreate_database(args)
            manage("migrate", "--noinput", project=PROJECT, timeout=600)
        setup_django(PROJECT)
        if reuse:
            setup["load"] = saved_load(args)
        else:
            setup["load"] = load(args, int(sizes[1][1] * 1.1))
            save_load(
                args,
                {**setup["load"], "days": args.days, "end": str(args.end_date), "seed": args.seed},
            )
            log(
                f"loaded in {setup['load']['load_s']:.0f} s, "
                f"VACUUM (ANALYZE) {setup['load']['vacuum_s']:.0f} s"
            )
        if args.load_only:
            args.keep_db = True
            return 0
        from access_requests.services import exports as export_services

        export_services.export_enqueue = no_enqueue
        counts = day_counts(args)
        setup["total_rows"] = sum(count for _, count in counts)
        grantee, reviewer = make_people()
        elements = every_approved_element()
        grants, setup["sizes"] = [], []
        for size, target in sizes:
            first, last, rows = period_for(counts, target)
            grant = reports_grant(
                grantee, reviewer, elements=elements, first=first, last=last, duration_days=90
            )
            grants.append((size, grant, rows))
            setup["sizes"].append((size, {"first": first, "last": last, "rows": rows}))
        results = []
        for size, grant, rows in grants:
            results += measure_size(args, sampler, grant, size, rows)
        ok = report(args, results, setup, started)
    finally:
        for child in CHILDREN:
            child.kill()
            child.wait()
        sampler.stopping.set()
        if "django" in sys.modules:
            close_connections()
        shutil.rmtree(media, ignore_errors=True)
        if copy:
            shutil.rmtree(copy, ignore_errors=True)
        if not args.keep_db:
            drop_database(args)
            log(f"dropped {args.db_name}")
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--driver"]:
        driver(sys.argv[2:])
    else:
        sys.exit(main(sys.argv[1:]))
