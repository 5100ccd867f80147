"""Benchmark the public statistics: daily rollups and releases, the pages and API, the noise.

The public figures are differentially private (ingest.privacy): each closed UTC day is
released once, with OpenDP's discrete Gaussian noise, into PublicFigure rows, and the
pages and the API sum those. Sets everything up itself on PostgreSQL: a throwaway
database (dropped and recreated, dropped again at the end unless --keep-db),
migrations, then

1. ``generate_telemetry`` loads a synthetic fleet of ~--rows reports over --days
   days ending today (UTC), and ``rollup --from --to -v 2`` rolls up every day and
   releases every closed one (all but today, and yesterday in its grace period):
   first the last 30 days, then the rest, so that the SQL queries per request can be
   counted with 30 days and with every day released;
2. a separate fleet (--seed + 1) fills one closed weekday before the 365-day window
   with ~--day-rows reports; ``rollup_day`` and ``stats_release_day`` are timed on it
   three times each (the first release, then ``again=True``, which draws anew and
   replaces the figures): as loaded, after ANALYZE ingest_report, and with jit off;
   with where one release's time goes. Both are also timed on a typical day of the
   main fleet;
3. the statistics page, every stats API call and a few CSV downloads are timed
   in-process with Django's test Client (server side: no network, no server),
   after a warm-up, with the SQL queries per request counted. A few of them are
   also timed before ANALYZE of the tables they read (see README.md: this
   machine's PostgreSQL runs with autovacuum off);
4. the utility of the noise: ``ingest.privacy.release_counts`` itself, drawn for
   thousands of days for groups of 10 to 10,000 installations, on a public-list
   label and on one that is not; errors of one-day figures and 30-day averages
   against the issue's targets (bench/stats/utility.py; no database);
5. the privacy budget (``ingest.privacy.budget``): ρ, ε, δ per dimension and in all,
   per day, 30 and 365 days;
6. a markdown table, the command and the machine are printed; a missed target
   adds cProfile and EXPLAIN ANALYZE output.

``--utility-only`` runs steps 4 and 5 alone, in seconds, without PostgreSQL.
Only 127.0.0.1 is contacted. See bench/stats/README.md.

    .venv/bin/python bench/stats/run.py --utility-only      # the noise and the budget
    .venv/bin/python bench/stats/run.py                     # quick: ~1M rows
    .venv/bin/python bench/stats/run.py --rows 10000000 --snapshot   # the full run
"""

import argparse
import cProfile
import io
import os
import pstats
import re
import shlex
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version as package_version
from pathlib import Path

from psycopg.types.json import Jsonb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/, for harness
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/stats/, for utility
import utility
from harness import (
    WORK_TREE,
    bench_connection,
    close_connections,
    configure_environment,
    database_exists,
    drop_database,
    explain,
    fleet_size,
    generate_fleet,
    git_output,
    loadavg,
    log,
    machine_line,
    manage,
    percentile,
    postgres_line,
    recreate_database,
    setup_django,
    snapshot_head,
    timed_sql,
    verdict,
)

PROJECT = WORK_TREE  # --project or --snapshot replace it
ROLLUP_TARGET_S = 5.0
LATENCY_TARGET_MS = 100.0
PRESETS = (30, 90, 365)
POSTGRES_SETTINGS = ("shared_buffers", "work_mem", "autovacuum", "max_parallel_workers")
# What the public pages read (released figures), then the exact rollups. `rollup` itself
# only analyzes the last two after a backfill.
READ_TABLES = ("ingest_publicfigure", "ingest_statsrelease")
ROLLUP_TABLES = ("ingest_dailyrollup", "ingest_rollupday")
# "2026-11-30: 27718 reports, released, 0.41s" (the note: released, re-released,
# already released: public figures kept, exact rollup only (not closed yet))
ROLLUP_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2}): (\d+) reports, (.+), ([\d.]+)s$")
RELEASED_NOTES = ("released", "re-released")


@dataclass(eq=False)
class Endpoint:
    label: str
    url: str
    guarded: bool  # under the p95 target
    latencies_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # this process's CPU (not PostgreSQL's)
    queries: int = 0
    queries_early: int | None = None  # with only the last 30 days rolled up
    sql_ms: float = 0.0  # database time of one request (CaptureQueriesContext)
    size: int = 0

    def percentile(self, fraction: float) -> float:
        return percentile(self.latencies_ms, fraction)

    @property
    def p95(self) -> float:
        return self.percentile(0.95)

    @property
    def ok(self) -> bool:
        return not self.guarded or self.p95 <= LATENCY_TARGET_MS


# --- database and commands ------------------------------------------------------------------


def sql_one(args, sql: str, params=()):
    with bench_connection(args) as conn:
        return conn.execute(sql, params).fetchone()


def rollup_command(first: date, last: date) -> list[tuple[date, int, float, str]]:
    """``rollup --from --to -v 2``: (day, reports, seconds, note) for every day it printed.

    A day's seconds are its exact rollup and, for a closed day, its release; the note
    says which (``released``, or ``exact rollup only (not closed yet)``).
    """
    out, wall = manage(
        "rollup", f"--from={first}", f"--to={last}", "-v", "2", project=PROJECT, timeout=4 * 3600
    )
    days = []
    for line in out.splitlines():
        match = ROLLUP_LINE.match(line.strip())
        if match:
            day, reports, note, seconds = match.groups()
            days.append((date.fromisoformat(day), int(reports), float(seconds), note))
    expected = (last - first).days + 1
    if len(days) != expected:
        raise SystemExit(f"rollup printed {len(days)} days, expected {expected}: {out[-500:]!r}")
    released = sum(note in RELEASED_NOTES for *_, note in days)
    log(f"rolled up {len(days)} days, released {released}, in {wall:.1f} s (wall, with start-up)")
    for line in out.splitlines():
        if not ROLLUP_LINE.match(line.strip()):
            log(f"  rollup: {line.strip()}")
    return days


def save_results(args, results: dict, endpoints: list[Endpoint]) -> None:
    """Keep the load and rollup results in the bench database, for a later --reuse-db."""
    data = {
        "load": {**results["load"], "end": str(results["load"]["end"])},
        "day_load": {**results["day_load"], "end": str(results["day_load"]["end"])},
        "vacuum_s": results["vacuum_s"],
        "one_day": str(results["day"]["day"]),
        "rollup": [[str(day), *rest] for day, *rest in results["rollup"]],
        "load_avg": results["load_avg"],
        "early": {e.label: e.queries_early for e in endpoints},
        "no_stats": [vars(e) for e in results["no_stats"]],
    }
    with bench_connection(args) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_stats_results (data jsonb NOT NULL)")
        conn.execute("DELETE FROM bench_stats_results")
        conn.execute("INSERT INTO bench_stats_results VALUES (%s)", [Jsonb(data)])


def load_results(args, results: dict, endpoints: list[Endpoint]) -> None:
    with bench_connection(args) as conn:
        exists = conn.execute("SELECT to_regclass('bench_stats_results')").fetchone()[0]
        row = conn.execute("SELECT data FROM bench_stats_results").fetchone() if exists else None
    if row is None:
        return
    data = row[0]
    for key in ("load", "day_load"):
        results[key] = {**data[key], "end": date.fromisoformat(data[key]["end"])}
    results["vacuum_s"] = data["vacuum_s"]
    results["day"]["day"] = date.fromisoformat(data["one_day"])
    results["rollup"] = [
        (date.fromisoformat(d), r, s, *(note or ["?"])) for d, r, s, *note in data["rollup"]
    ]
    results["load_avg"].update({f"{k} (kept run)": v for k, v in data["load_avg"].items()})
    results["no_stats"] = [Endpoint(**e) for e in data["no_stats"]]
    for endpoint in endpoints:
        endpoint.queries_early = data["early"].get(endpoint.label)


# --- Django in this process ----------------------------------------------------------------


def set_jit(jit: bool | None) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("RESET jit" if jit is None else f"SET jit = {'on' if jit else 'off'}")


def time_day_rollups(day: date, runs: int, jit: bool = True) -> tuple[list[float], list[dict], int]:
    """rollup_day on ``day`` ``runs`` times; the queries of the last run with their times."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ingest.services import rollup_day

    times, queries, reports = [], [], 0
    set_jit(jit)
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            rolled = rollup_day(day=day)
            times.append(time.perf_counter() - started)
        queries, reports = captured.captured_queries, rolled.reports
    set_jit(None)
    return times, queries, reports


def time_day_releases(day: date, runs: int, jit: bool = True) -> dict:
    """stats_release_day on ``day`` ``runs`` times: the first release if the day has none,
    then ``again=True`` (a new draw replacing the figures, as an operator's re-release).

    The queries are the last run's, a re-release whenever runs > 1.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ingest.models import PublicFigure, StatsRelease
    from ingest.services import stats_release_day

    times, kinds, queries = [], [], []
    set_jit(jit)
    for _ in range(runs):
        again = StatsRelease.objects.filter(day=day).exists()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            release = stats_release_day(day=day, again=again)
            times.append(time.perf_counter() - started)
        if release is None:
            raise SystemExit(f"stats_release_day({day}, again={again}) released nothing")
        kinds.append("again" if again else "first")
        queries = captured.captured_queries
    set_jit(None)
    figures = PublicFigure.objects.filter(day=day).count()
    return {"times": times, "kinds": kinds, "queries": queries, "figures": figures}


def release_breakdown(day: date) -> dict:
    """Where one release's time goes: the SQL counts, the bounding loop, the noise."""
    from ingest import privacy
    from ingest.dimensions import DIMENSIONS
    from ingest.services.releases import bounded_counts
    from ingest.services.rollups import count_partitions

    started = time.perf_counter()
    count_partitions(day)
    partitions = time.perf_counter()
    counts = bounded_counts(day)  # count_partitions again, then every report in Python
    bounded = time.perf_counter()
    figures = sum(len(privacy.release_counts(key, counts[key])) for key in DIMENSIONS)
    drawn = time.perf_counter()
    return {
        "partitions_s": partitions - started,
        "loop_s": (bounded - partitions) - (partitions - started),
        "noise_s": drawn - bounded,
        "labels": sum(len(counts[key]) for key in DIMENSIONS),
        "figures": figures,
    }


def profile_release(day: date) -> str:
    from ingest.services import stats_release_day

    profiler = cProfile.Profile()
    profiler.enable()
    stats_release_day(day=day, again=True)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(20)
    stats.sort_stats("tottime").print_stats(12)
    return "\n".join(
        [f"#### stats_release_day({day}, again=True): cProfile", "```", out.getvalue(), "```"]
    )


DAY_VARIANTS = (
    ("fresh", "as loaded: ingest_report's statistics predate the day"),
    ("analyzed", "after ANALYZE ingest_report: statistics cover the day, as for older days"),
    (
        "analyzed, jit=off",
        "the same with SET jit = off for the session (rollup_day already sets jit off in "
        "its transaction; stats_release_day does not: a proposed fix, not the app's setting)",
    ),
)


def release_runs(release: dict) -> tuple[list[float], list[str]]:
    return release["times"], release["kinds"]


def measure_day(args, results: dict, one_day: date) -> None:
    """Step 2: the one day, before and after its statistics exist, and without JIT."""
    variants = []
    for label, _ in DAY_VARIANTS:
        if label == "analyzed":
            results["analyze_report_s"] = timed_sql(args, "ANALYZE ingest_report")
            log(f"ANALYZE ingest_report: {results['analyze_report_s']:.1f} s")
        jit = "jit=off" not in label
        times, queries, reports = time_day_rollups(one_day, 3, jit=jit)
        log(f"rollup_day, {label}: " + ", ".join(f"{t:.2f} s" for t in times))
        release = time_day_releases(one_day, 3, jit=jit)
        log(
            f"stats_release_day, {label}: "
            + ", ".join(f"{t:.2f} s ({k})" for t, k in zip(*release_runs(release), strict=True))
        )
        variants.append({"label": label, "times": times, "queries": queries, "release": release})
    results["day"].update(variants=variants, reports=reports)
    results["day"]["breakdown"] = release_breakdown(one_day)
    log(f"one release, broken down: {results['day']['breakdown']}")


def measure_typical_day(results: dict) -> None:
    """rollup_day and stats_release_day(again=True) on the main fleet's median released day."""
    rolled = [(r, d) for d, r, _, note in results.get("rollup", []) if note in RELEASED_NOTES]
    if not rolled:
        return
    reports, day = sorted(rolled)[len(rolled) // 2]
    times, _, reports = time_day_rollups(day, 3)
    release = time_day_releases(day, 3)
    results["typical"] = {"day": day, "reports": reports, "rollup": times, "release": release}
    log(
        f"typical day {day} ({reports:,} reports): rollup_day "
        + ", ".join(f"{t:.2f}" for t in times)
        + " s; stats_release_day "
        + ", ".join(f"{t:.2f}" for t in release["times"])
        + " s"
    )


def stats_endpoints(today: date) -> list[Endpoint]:
    from ingest.dimensions import DIMENSIONS

    endpoints = [Endpoint(f"/stats/?range={n}", f"/stats/?range={n}", True) for n in PRESETS]
    endpoints.append(Endpoint("GET /api/v1/stats/", "/api/v1/stats/", True))
    for n in PRESETS:
        first = today - timedelta(days=n - 1)
        for key in DIMENSIONS:
            url = f"/api/v1/stats/{key}?from={first}&to={today}"
            endpoints.append(Endpoint(f"GET /api/v1/stats/{key} ({n} d)", url, True))
    for url in (
        "/stats/release.csv?range=365",
        "/stats/addon.csv?range=90",
        "/stats/release_minor-daily.csv?range=365",
    ):
        endpoints.append(Endpoint(f"CSV {url}", url, False))
    return endpoints


def captured_request(client, url: str) -> tuple[int, float]:
    """(SQL queries, their milliseconds) of one request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}")
    return len(captured), sum(float(q["time"]) for q in captured.captured_queries) * 1000


def measure(endpoints: list[Endpoint], requests: int, warmup: int, cap_s: float) -> None:
    from django.test import Client

    client = Client()
    for endpoint in endpoints:
        for _ in range(warmup):
            client.get(endpoint.url)
        endpoint.queries, endpoint.sql_ms = captured_request(client, endpoint.url)
        deadline = time.perf_counter() + cap_s
        for _ in range(requests):
            started, cpu = time.perf_counter(), time.thread_time()
            response = client.get(endpoint.url)
            endpoint.latencies_ms.append((time.perf_counter() - started) * 1000)
            endpoint.cpu_ms.append((time.thread_time() - cpu) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"GET {endpoint.url} answered {response.status_code}")
            if time.perf_counter() > deadline:
                break
        endpoint.size = len(response.content)


def profile(endpoint: Endpoint, runs: int = 10) -> str:
    """cProfile of a few requests and EXPLAIN ANALYZE of the request's slowest queries."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        client.get(endpoint.url)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(r"portal/|ingest/|template/|rest_framework/", 25)
    stats.sort_stats("tottime").print_stats(12)
    with CaptureQueriesContext(connection) as captured:
        client.get(endpoint.url)
    slowest = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:2]
    lines = [f"#### {endpoint.label}: cProfile of {runs} requests", "```", out.getvalue(), "```"]
    for query in slowest:
        lines += [f"```sql\n{query['sql']}\n```", "```", explain(query["sql"]), "```"]
    return "\n".join(lines)


# --- report -------------------------------------------------------------------------------


def summary(values: list[float]) -> str:
    return (
        f"mean {statistics.fmean(values):.3f} s, p50 {statistics.median(values):.3f} s, "
        f"max {max(values):.3f} s"
    )


def endpoint_table(endpoints: list[Endpoint], early: bool = True) -> list[str]:
    head = "SQL queries (30 d rolled up / all)" if early else "SQL queries"
    lines = [
        f"| endpoint | n | p50 ms | p95 ms | max ms | Python CPU p50 ms | SQL ms | {head} | bytes "
        "| p95 target |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for e in endpoints:
        queries = f"{'?' if e.queries_early is None else e.queries_early} / {e.queries}"
        lines.append(
            f"| {e.label} | {len(e.latencies_ms)} | {e.percentile(0.5):.1f} | {e.p95:.1f} | "
            f"{max(e.latencies_ms):.1f} | {statistics.median(e.cpu_ms):.1f} | {e.sql_ms:.1f} | "
            f"{queries if early else e.queries} | "
            f"{e.size:,} | {verdict(e.ok) if e.guarded else '-'} |"
        )
    return lines


def runs(times: list[float], kinds: list[str] | None = None) -> str:
    each = ", ".join(
        f"{t:.2f}" + (f" {k}" if kinds else "") for t, k in zip(times, kinds or times, strict=True)
    )
    return f"best {min(times):.2f} s, median {statistics.median(times):.2f} s ({each})"


def summary_table(results: dict, endpoints: list[Endpoint]) -> list[str]:
    lines = ["| measurement | result | target |", "| --- | --- | --- |"]
    if "load" in results:
        load, rolled = results["load"], results["rollup"]
        reports = [r for _, r, _, _ in rolled]
        seconds = [s for _, _, s, _ in rolled]
        released = [s for _, _, s, note in rolled if note in RELEASED_NOTES]
        exact = [s for _, _, s, note in rolled if note not in RELEASED_NOTES]
        lines += [
            f"| load: `generate_telemetry --installations {load['installations']} --days "
            f"{load['days']} --end-date {load['end']} --seed {load['seed']}` | {load['rows']:,} "
            f"rows in {load['command_s']:.1f} s ({load['rows'] / load['command_s']:,.0f} rows/s; "
            f"{load['wall_s']:.1f} s wall); then VACUUM ANALYZE {results['vacuum_s']:.1f} s | - |",
            f"| `rollup --from --to` (exact rollup, then the release of each closed day): "
            f"{len(rolled)} days of {statistics.fmean(reports):,.0f} reports on average (max "
            f"{max(reports):,}); {len(released)} released | per day {summary(seconds)}; total "
            f"{sum(seconds):.0f} s | - |",
        ]
        if released:
            lines.append(
                f"| of which the {len(released)} released days (rollup + release) | per day "
                f"{summary(released)}"
                + (f"; the {len(exact)} others (rollup only) {summary(exact)}" if exact else "")
                + " | - |"
            )
    day = results["day"]
    loaded = ""
    if "day_load" in results:
        loaded = f"; generated in {results['day_load']['command_s']:.1f} s"
    target = f"< {ROLLUP_TARGET_S:g} s"
    for variant in day["variants"]:
        times = variant["times"]
        lines.append(
            f"| `rollup_day` of one day of {day['reports']:,} reports ({day['day']}), "
            f"{variant['label']}, 3 runs{loaded} | {runs(times)} | "
            f"{target}: {verdict(statistics.median(times) < ROLLUP_TARGET_S)} |"
        )
        loaded = ""
    for variant in day["variants"]:
        release = variant["release"]
        times = release["times"]
        lines.append(
            f"| `stats_release_day` of that day, {variant['label']}, 3 runs (first: a first "
            f"release or `again=True`; then `again=True`); {release['figures']:,} figures | "
            f"{runs(times, release['kinds'])} | {target} (as `rollup_day`): "
            f"{verdict(statistics.median(times) < ROLLUP_TARGET_S)} |"
        )
    if "breakdown" in day:
        b = day["breakdown"]
        lines.append(
            f"| one release of that day, broken down (jit as the server's) | SQL counts of the "
            f"single-valued dimensions (`count_partitions`) {b['partitions_s']:.2f} s; reading "
            f"and bounding every report in Python (rest of `bounded_counts`) {b['loop_s']:.2f} "
            f"s; noise (`release_counts`, 11 dimensions, {b['labels']:,} true labels -> "
            f"{b['figures']:,} figures) {b['noise_s']:.2f} s | - |"
        )
    if "typical" in results:
        t = results["typical"]
        lines.append(
            f"| typical day of the main fleet ({t['day']}, {t['reports']:,} reports, the median "
            f"released day): `rollup_day` / `stats_release_day(again=True)`, 3 runs each | "
            f"{runs(t['rollup'])} / {runs(t['release']['times'])} | - |"
        )
    for e in endpoints[:4]:
        lines.append(
            f"| `{e.label}` | p50 {e.percentile(0.5):.1f} ms, p95 {e.p95:.1f} ms, max "
            f"{max(e.latencies_ms):.1f} ms; {e.queries} queries | p95 <= {LATENCY_TARGET_MS:g} "
            f"ms: {verdict(e.ok)} |"
        )
    for n in PRESETS:
        calls = [e for e in endpoints if e.label.startswith("GET /api/v1/stats/") and
                 e.label.endswith(f"({n} d)")]  # fmt: skip
        worst = max(calls, key=lambda e: e.p95)
        queries = "/".join(map(str, sorted({e.queries for e in calls})))
        lines.append(
            f"| `GET /api/v1/stats/<dimension>?from&to`, {len(calls)} dimensions, {n} d | "
            f"median p50 {statistics.median(e.percentile(0.5) for e in calls):.1f} ms; worst "
            f"p95 {worst.p95:.1f} ms ({worst.label.split('/')[-1].split(' ')[0]}); {queries} "
            f"queries each | p95 <= {LATENCY_TARGET_MS:g} ms: {verdict(all(e.ok for e in calls))} |"
        )
    for e in endpoints:
        if not e.guarded:
            lines.append(
                f"| `{e.label.removeprefix('CSV ')}` | p50 {e.percentile(0.5):.1f} ms, p95 "
                f"{e.p95:.1f} ms; {e.queries} queries | - |"
            )
    return lines


# --- the run ------------------------------------------------------------------------------


def use_project(args) -> str:
    """Point PROJECT at the code to measure; returns a description for the report.

    Others edit the work tree while benchmarks run: --snapshot measures the
    committed HEAD, exported to a temporary folder, so the code cannot change
    under a long run.
    """
    global PROJECT
    repo = PROJECT
    if args.project:
        PROJECT = Path(args.project).resolve()
    elif args.snapshot:
        PROJECT, commit = snapshot_head(repo, prefix="bench-stats-")
        return f"commit {commit[:12]} (git archive into {PROJECT})"
    dirty = git_output(PROJECT, "status", "--porcelain", "--untracked-files=no")
    commit = git_output(PROJECT, "rev-parse", "--short=12", "HEAD")
    return f"work tree {PROJECT} at {commit}" + (" with local changes" if dirty else "")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="Reports to load (~).")
    parser.add_argument("--days", type=int, default=365, help="Days they span, ending today.")
    parser.add_argument("--day-rows", type=int, default=100_000, help="Reports in the one day.")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--requests", type=int, default=40, help="Timed requests per endpoint.")
    parser.add_argument("--warmup", type=int, default=5, help="Untimed requests per endpoint.")
    parser.add_argument("--cap", type=float, default=20.0, help="Seconds at most per endpoint.")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db-name", default="portal_bench_stats")
    parser.add_argument("--keep-db", action="store_true", help="Do not drop the database.")
    parser.add_argument(
        "--reuse-db",
        action="store_true",
        help="Measure a database kept by an earlier --keep-db run (same day): no loading.",
    )
    parser.add_argument("--profile", action="store_true", help="Profile even if targets are met.")
    parser.add_argument(
        "--utility-only",
        action="store_true",
        help="Only the utility of the noise and the privacy budget: no database, seconds.",
    )
    parser.add_argument(
        "--trials", type=int, default=2000, help="Days drawn for the one-day figures."
    )
    parser.add_argument(
        "--windows", type=int, default=500, help="30-day windows drawn for the averages."
    )
    parser.add_argument(
        "--sizes",
        type=lambda text: tuple(int(part) for part in text.split(",")),
        default=utility.SIZES,
        help="True group sizes, comma-separated (default 10,100,1000,10000).",
    )
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="Processes drawing the noise."
    )
    parser.add_argument("--project", help="Project folder to measure (default: this repository).")
    parser.add_argument(
        "--snapshot", action="store_true", help="Measure the committed HEAD (git archive)."
    )
    args = parser.parse_args()
    if not re.match(r"postgres(ql)?://[^@/]*@?(127\.0\.0\.1|localhost)[:/]", args.pg_url + "/"):
        parser.error("--pg-url must point at 127.0.0.1")
    return args


def load_and_roll_up(args, results: dict, endpoints: list[Endpoint], today: date) -> None:
    """Steps 1 and 2's data: the fleet, its rollups (query counts half-way) and the one day."""
    from django.test import Client

    log(f"creating database {args.db_name}; load average {loadavg()}")
    recreate_database(args)
    manage("migrate", "--noinput", "-v", "0", project=PROJECT, timeout=600)

    first = today - timedelta(days=args.days - 1)
    installations = fleet_size(args.rows, args.days, today, args.seed)
    results["load_avg"]["load"] = loadavg()
    results["load"] = generate_fleet(
        installations, args.days, today, args.seed, project=PROJECT, timeout=3 * 3600
    )
    results["vacuum_s"] = timed_sql(args, "VACUUM (ANALYZE) ingest_report")
    log(f"VACUUM (ANALYZE) ingest_report: {results['vacuum_s']:.1f} s (autovacuum is off here)")

    results["load_avg"]["rollup"] = loadavg()
    recent = max(first, today - timedelta(days=29))
    rolled = rollup_command(recent, today)
    client = Client()
    for endpoint in endpoints:
        endpoint.queries_early, _ = captured_request(client, endpoint.url)
    close_connections()
    if recent > first:
        rolled += rollup_command(first, recent - timedelta(days=1))
    results["rollup"] = rolled
    log(f"rollup per day: {summary([s for _, _, s, _ in rolled])}")

    # Before ANALYZE of the tables the pages read (`rollup` analyzes only the exact rollup
    # tables): what a fresh backfill serves until autovacuum runs.
    results["load_avg"]["no_stats"] = loadavg()
    sample = [e for e in endpoints if e.label in NO_STATS_SAMPLE]
    cold = [Endpoint(e.label, e.url, e.guarded) for e in sample]
    log(f"before ANALYZE of {', '.join(READ_TABLES)}: {len(cold)} endpoints x 5")
    measure(cold, 5, 1, args.cap)
    results["no_stats"] = cold
    close_connections()

    one_day = results["day"]["day"]
    log(f"one-day fleet on {one_day} ({one_day:%A})")
    size = fleet_size(args.day_rows, 1, one_day, args.seed + 1)
    results["day_load"] = generate_fleet(
        size, 1, one_day, args.seed + 1, project=PROJECT, timeout=3 * 3600
    )
    save_results(args, results, endpoints)


NO_STATS_SAMPLE = (
    "/stats/?range=30",
    "/stats/?range=365",
    "GET /api/v1/stats/release_minor (30 d)",
    "GET /api/v1/stats/addon (365 d)",
)


def run_utility(args) -> dict:
    log(
        f"utility: release_counts for sizes {', '.join(map(str, args.sizes))}, "
        f"{max(args.trials, args.windows * utility.WINDOW):,} days, {args.jobs} processes"
    )
    result = utility.measure(args.sizes, args.trials, args.windows, args.jobs)
    log(f"utility: {result['days']:,} days drawn in {result['seconds']:.1f} s")
    return result


def print_utility(result: dict) -> None:
    print("\n### Utility of the noise (`ingest.privacy.release_counts`, no database)\n")
    print("\n".join(utility.utility_lines(result)))
    print("\n### Privacy budget (`ingest.privacy.budget()`)\n")
    print("\n".join(utility.budget_lines()))


def print_header(args, command: str, code: str, started: float) -> None:
    print("\n" + "=" * 100 + "\n")
    print(f"## Statistics benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n")
    print(f"Command: `{command}` (total {time.perf_counter() - started:.0f} s)\n")
    print(f"- code: {code}")
    print(machine_line(f"OpenDP {package_version('opendp')}"))
    if not args.utility_only:
        print(postgres_line(args, *POSTGRES_SETTINGS))


def query_table(variants: list[dict], queries) -> list[str]:
    lines = [
        "| query | " + " | ".join(f"{v['label']} ms" for v in variants) + " |",
        "| --- |" + " ---: |" * len(variants),
    ]
    for row in zip(*(queries(v) for v in variants), strict=False):
        sql = " ".join(row[0]["sql"].split())
        if sql in ("BEGIN", "COMMIT") or sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")):
            continue
        cells = " | ".join(f"{float(q['time']) * 1000:.0f}" for q in row)
        lines.append(f"| `{sql[:100]}` | {cells} |")
    return lines


def main() -> None:
    args = parse_args()
    command = shlex.join([".venv/bin/python", "bench/stats/run.py", *sys.argv[1:]])
    code = use_project(args)
    log(f"measuring {code}")
    configure_environment(
        args, LOG_LEVEL="ERROR"
    )  # not the embedded-default warning in every child
    setup_django(PROJECT)
    started = time.perf_counter()
    noise = run_utility(args)
    if args.utility_only:
        print_header(args, command, code, started)
        print(f"- load average (1/5/15 min) at the end: {loadavg()}")
        print_utility(noise)
        if args.snapshot:
            shutil.rmtree(PROJECT, ignore_errors=True)
        return

    today = datetime.now(UTC).date()  # the portal's "today" (USE_TZ, UTC)
    first = today - timedelta(days=args.days - 1)
    one_day = min(first, today - timedelta(days=365)) - timedelta(days=30)  # outside any preset
    while one_day.weekday() >= 5:
        one_day -= timedelta(days=1)
    results: dict = {"load_avg": {}, "day": {"day": one_day}}
    endpoints = stats_endpoints(today)

    if args.reuse_db:
        if not database_exists(args):
            raise SystemExit(f"--reuse-db: there is no database {args.db_name}")
        log(f"reusing database {args.db_name}")
        manage("migrate", "--noinput", "-v", "0", project=PROJECT, timeout=600)
        load_results(args, results, endpoints)
        one_day = results["day"]["day"]
    else:
        load_and_roll_up(args, results, endpoints, today)

    tables = (*READ_TABLES, *ROLLUP_TABLES)
    results["analyze_s"] = timed_sql(args, *(f"ANALYZE {table}" for table in tables))
    log(f"ANALYZE {', '.join(tables)}: {results['analyze_s']:.2f} s")
    totals = sql_one(
        args,
        "SELECT (SELECT count(*) FROM ingest_report), (SELECT count(*) FROM ingest_dailyrollup),"
        " (SELECT count(*) FROM ingest_rollupday),"
        " (SELECT count(*) FROM ingest_report WHERE report_date = %s),"
        " (SELECT count(*) FROM ingest_publicfigure), (SELECT count(*) FROM ingest_statsrelease)",
        [one_day],
    )
    log(
        f"reports {totals[0]:,}, rollup rows {totals[1]:,}, rolled-up days {totals[2]:,}, "
        f"public figures {totals[4]:,}, released days {totals[5]:,}"
    )

    results["load_avg"]["rollup_day"] = loadavg()
    log(
        f"rollup_day and stats_release_day({one_day}) of {totals[3]:,} reports, 3 runs each; "
        f"load average {loadavg()}"
    )
    measure_day(args, results, one_day)
    measure_typical_day(results)

    results["load_avg"]["latency"] = loadavg()
    log(f"latency: {len(endpoints)} endpoints x {args.requests}; load average {loadavg()}")
    measure(endpoints, args.requests, args.warmup, args.cap)
    results["load_avg"]["end"] = loadavg()

    profiles = []
    missed = [e for e in endpoints if not e.ok]
    if missed or args.profile:
        worst = max((e for e in endpoints if e.guarded), key=lambda e: e.p95)
        picks = {id(e): e for e in [worst, *sorted(missed, key=lambda e: -e.p95)[:2]]}
        profiles += [profile(e) for e in picks.values()]
    release_times = [t for v in results["day"]["variants"] for t in v["release"]["times"]]
    if args.profile or statistics.median(release_times) >= ROLLUP_TARGET_S:
        profiles.append(profile_release(one_day))
    analyzed = results["day"]["variants"][1]["queries"]
    slowest = max(analyzed, key=lambda q: float(q["time"]))
    day_explain = f"```sql\n{slowest['sql']}\n```\n```\n{explain(slowest['sql'])}\n```"
    close_connections()

    # --- the report ---
    phases = ", ".join(f"{phase} {value}" for phase, value in results["load_avg"].items())
    print_header(args, command, code, started)
    print(f"- load average (1/5/15 min) at the start of each phase: {phases}")
    print(
        f"- data: {totals[0]:,} reports, {totals[1]:,} rollup rows, {totals[2]:,} rolled-up "
        f"days, {totals[5]:,} released days with {totals[4]:,} public figures; preset ranges "
        f"end {today} (UTC); ANALYZE of {', '.join(tables)} before measuring "
        f"({results['analyze_s']:.2f} s)\n"
    )
    print("\n".join(summary_table(results, endpoints)))
    print_utility(noise)
    print("\n### Every endpoint (after ANALYZE)\n")
    early = any(e.queries_early is not None for e in endpoints)
    print("\n".join(endpoint_table(endpoints, early=early)))
    if "no_stats" in results:
        print(
            f"\n### Before ANALYZE of {', '.join(READ_TABLES)} (no planner statistics; "
            "`rollup` analyzed the exact rollup tables only)\n"
        )
        print("\n".join(endpoint_table(results["no_stats"], early=False)))
    variants = results["day"]["variants"]
    print(
        f"\n### Queries of one `rollup_day` of {results['day']['reports']:,} reports (last run)\n"
    )
    print("\n".join(f"- {label}: {text}" for label, text in DAY_VARIANTS) + "\n")
    print("\n".join(query_table(variants, lambda v: v["queries"])))
    print("\nEXPLAIN ANALYZE of the slowest query, analyzed:\n")
    print(day_explain)
    print("\n### Queries of one `stats_release_day(again=True)` of that day (last run)\n")
    for v in variants:
        release = v["release"]
        sql_s = sum(float(q["time"]) for q in release["queries"])
        print(
            f"- {v['label']}: {len(release['queries'])} queries, {sql_s:.2f} s of SQL as "
            f"captured (a server-side cursor's fetches are not in it) of {release['times'][-1]:.2f}"
            " s"
        )
    print()
    print("\n".join(query_table(variants, lambda v: v["release"]["queries"])))
    if profiles:
        print("\n### Profiles\n")
        print("\n\n".join(profiles))

    if args.snapshot:
        shutil.rmtree(PROJECT, ignore_errors=True)
    if args.keep_db:
        log(f"kept database {args.db_name}")
    else:
        drop_database(args)
        log(f"dropped database {args.db_name}")


if __name__ == "__main__":
    main()
