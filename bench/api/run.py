"""Benchmark the data API: ``GET /api/v1/data/reports`` pages for an approved grantee.

Sets everything up itself on PostgreSQL: a throwaway database (dropped and
recreated, dropped again at the end unless --keep-db), migrations, then

1. ``generate_telemetry`` loads a synthetic fleet of ~--rows reports over --days
   days ending --end-date, then VACUUM (ANALYZE) (autovacuum is off on this
   machine); a grantee files a request (``file_request``), a maintainer approves
   it (``access_request_approve``) for the whole period with the elements
   platformID, requestTime, version, enableAddonList, xDefinitionTopList,
   clusterCount and appCount (dataset: reports), and the grantee mints a token
   (``token_mint``): the services, in this process, after ``django.setup()``;
2. 1,000-row pages are timed in-process with Django's test Client (server side:
   no network, no server), following ``next_cursor`` from cursors at the start,
   the middle and the end of the data (built the way views.py builds them), and
   with ``release=`` filters (the most common release, the sparsest one, and the
   newest one from the start of the period, where the scan must skip the months
   before it was released);
3. one client pages through --page-rows granted rows (default 1,000,000) from the
   start, following ``next_cursor``, and rows/s is printed;
4. a markdown table, the command, nproc, PostgreSQL's version and the load
   average during each phase are printed, with EXPLAIN (ANALYZE, BUFFERS) of the
   page queries and a cProfile of a few pages;
5. experiments measure changes the app does not have: the release scenarios
   with an index on (release, report_date, id) (created in this database, then
   dropped), the garbage collector frozen and with a larger gen-0 threshold,
   and a page's body built by PostgreSQL instead of Django and DRF.

Only 127.0.0.1 is contacted. See bench/api/README.md.

    .venv/bin/python bench/api/run.py --quick               # ~1M rows
    .venv/bin/python bench/api/run.py                       # ~10M rows, the full run
"""

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import re
import shlex
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/, for harness
from harness import (
    WORK_TREE,
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
    reports_grant,
    setup_django,
    timed_sql,
    verdict,
)

PROJECT = WORK_TREE

URL = "/api/v1/data/reports"
PAGE = 1000  # data.PAGE_SIZE_MAX, the default limit
LATENCY_TARGET_MS = 150.0
THROUGHPUT_TARGET = 20_000  # rows/s
ELEMENTS = [
    "platformID",
    "requestTime",
    "version",
    "enableAddonList",
    "xDefinitionTopList",
    "clusterCount",
    "appCount",
]
API_FILES = (
    "access_requests/grant_scope.py",
    "access_requests/api/views.py",
    "access_requests/api/authentication.py",
    "access_requests/api/throttles.py",
    "ingest/models.py",
)
EXPERIMENT_INDEX = "bench_api_report_release_date_id"
POSTGRES_SETTINGS = (
    "shared_buffers",
    "work_mem",
    "effective_cache_size",
    "random_page_cost",
    "jit",
    "autovacuum",
)


# --- the data -------------------------------------------------------------------------------


def load(args, end: date) -> dict:
    log(f"creating database {args.db_name}; load average {loadavg()}")
    recreate_database(args)
    manage("migrate", "--noinput", "-v", "0", project=PROJECT, timeout=900)
    installations = fleet_size(args.rows, args.days, end, args.seed)
    load_avg = loadavg()
    generated = generate_fleet(
        installations, args.days, end, args.seed, project=PROJECT, timeout=4 * 3600
    )
    vacuum_s = timed_sql(args, "VACUUM (ANALYZE) ingest_report", "CHECKPOINT")
    log(f"VACUUM (ANALYZE) ingest_report + CHECKPOINT: {vacuum_s:.1f} s (autovacuum is off)")
    return {**generated, "vacuum_s": vacuum_s, "load_avg": load_avg}


# --- the grant and its token ----------------------------------------------------------------


def grant_and_token(first: date, last: date):
    """A grantee, a maintainer, an approved request for the whole period, and a token."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from access_requests import services

    users = get_user_model()
    suffix = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
    grantee = users.objects.create_user(f"grantee-{suffix}", f"grantee-{suffix}@example.org")
    EmailAddress.objects.create(user=grantee, email=grantee.email, verified=True, primary=True)
    maintainer = users.objects.create_user(
        f"maintainer-{suffix}", f"maintainer-{suffix}@example.org", is_staff=True
    )
    maintainer.groups.add(Group.objects.get(name="maintainers"))
    maintainer = users.objects.get(pk=maintainer.pk)  # fresh permission cache
    grant = reports_grant(
        grantee, maintainer, elements=ELEMENTS, first=first, last=last, duration_days=30
    )
    token, secret = services.token_mint(grant=grant, user=grantee, name="bench/api")
    return grant, token, secret


# --- measuring --------------------------------------------------------------------------------


@dataclass(eq=False)
class Scenario:
    label: str
    params: dict  # query parameters besides cursor
    cursor: str | None  # the first request's cursor
    follow: bool  # follow next_cursor (each request a new page) or repeat the same page
    requests: int
    wall_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # this thread's CPU: Python's share
    page_sql_ms: list[float] = field(default_factory=list)  # the ingest_report query
    other_sql_ms: list[float] = field(default_factory=list)  # token, audit, BEGIN/COMMIT
    queries: int = 0
    rows: list[int] = field(default_factory=list)
    page_sql: str = ""  # the page query of the first timed request
    size: int = 0
    load: str = ""  # 1-minute load average when it started

    @property
    def p95(self) -> float:
        return percentile(self.wall_ms, 0.95)

    @property
    def ok(self) -> bool:
        return self.p95 <= LATENCY_TARGET_MS


class Api:
    """GET /api/v1/data/reports with the token, timed, through one test Client."""

    def __init__(self, secret: str):
        from django.test import Client

        self.client = Client()
        self.header = f"Bearer {secret}"

    def get(self, params: dict, cursor: str | None) -> tuple[dict, float, float, list[dict]]:
        """(body, wall ms, CPU ms, captured queries) of one page."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        query = {**params, **({"cursor": cursor} if cursor else {})}
        connection.queries_log.clear()  # the context keeps the log from being reset; 9,000 max
        with CaptureQueriesContext(connection) as captured:
            started, cpu = time.perf_counter(), time.thread_time()
            response = self.client.get(URL, query, HTTP_AUTHORIZATION=self.header)
            wall = (time.perf_counter() - started) * 1000
            cpu = (time.thread_time() - cpu) * 1000
        if response.status_code != 200:
            status = response.status_code
            raise SystemExit(f"GET {URL} {query} answered {status}: {response.content[:300]!r}")
        body = json.loads(response.content)
        body["_bytes"] = len(response.content)
        return body, wall, cpu, captured.captured_queries


class GcClock:
    """Collections of each generation and their CPU seconds (this thread's), while installed."""

    def __init__(self):
        self.count = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.thread_time()
        else:
            self.count[info["generation"]] += 1
            self.seconds[info["generation"]] += time.thread_time() - self._started

    def __enter__(self) -> "GcClock":
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc) -> None:
        gc.callbacks.remove(self)

    def summary(self, pages: int) -> str:
        return ", ".join(
            f"gen {g}: {self.count[g]:,} collections, "
            f"{self.seconds[g] * 1000 / pages:.1f} ms CPU/page"
            for g in range(3)
        )


def split_sql(queries: list[dict]) -> tuple[dict, float]:
    """(the page query, milliseconds of all the others)."""
    page = next(q for q in queries if "ingest_report" in q["sql"])
    others = sum(float(q["time"]) for q in queries if q is not page) * 1000
    return page, others


def warm_up(api: Api, cursor: str | None, pages: int) -> None:
    """Code paths, connections and the throttle's cache, away from the measured positions."""
    for _ in range(pages):
        body, *_ = api.get({}, cursor)
        cursor = body["next_cursor"]


def run_scenario(api: Api, scenario: Scenario, cap_s: float) -> None:
    scenario.load = f"{os.getloadavg()[0]:.1f}"
    cursor = scenario.cursor
    deadline = time.perf_counter() + cap_s
    for _ in range(scenario.requests):
        body, wall, cpu, queries = api.get(scenario.params, cursor)
        page, others = split_sql(queries)
        scenario.wall_ms.append(wall)
        scenario.cpu_ms.append(cpu)
        scenario.page_sql_ms.append(float(page["time"]) * 1000)
        scenario.other_sql_ms.append(others)
        scenario.queries = len(queries)
        scenario.rows.append(body["count"])
        scenario.page_sql = scenario.page_sql or page["sql"]
        scenario.size = max(scenario.size, body["_bytes"])
        if scenario.follow:
            cursor = body["next_cursor"] or scenario.cursor
        if time.perf_counter() > deadline:
            break


@dataclass
class Paging:
    target_rows: int
    rows: int = 0
    pages: int = 0
    wall_s: float = 0.0  # the whole loop, with the client's json.loads of each page
    server_s: float = 0.0  # the sum of the requests alone
    page_sql_s: float = 0.0
    other_sql_s: float = 0.0
    cpu_s: float = 0.0
    cpu_ms: list[float] = field(default_factory=list)
    page_ms: list[float] = field(default_factory=list)
    reached_end: bool = False
    gc: str = ""

    @property
    def rate(self) -> float:
        return self.rows / self.wall_s

    @property
    def server_rate(self) -> float:
        return self.rows / self.server_s


def page_through(api: Api, target_rows: int) -> Paging:
    with GcClock() as clock:
        paging = follow_pages(api, target_rows)
    paging.gc = clock.summary(paging.pages)
    return paging


def follow_pages(api: Api, target_rows: int) -> Paging:
    paging = Paging(target_rows)
    cursor = None
    started = time.perf_counter()
    last_log = started
    while paging.rows < target_rows:
        body, wall, cpu, queries = api.get({}, cursor)
        paging.rows += body["count"]
        paging.pages += 1
        paging.server_s += wall / 1000
        paging.cpu_s += cpu / 1000
        paging.cpu_ms.append(cpu)
        page, others = split_sql(queries)
        paging.page_sql_s += float(page["time"])
        paging.other_sql_s += others / 1000
        paging.page_ms.append(wall)
        cursor = body["next_cursor"]
        if time.perf_counter() - last_log > 15:
            last_log = time.perf_counter()
            elapsed = last_log - started
            log(f"  {paging.rows:,} rows, {paging.rows / elapsed:,.0f} rows/s; load {loadavg()}")
        if cursor is None:
            paging.reached_end = True
            break
    paging.wall_s = time.perf_counter() - started
    return paging


def profile_pages(api: Api, cursor: str | None, pages: int) -> str:
    """cProfile of ``pages`` consecutive pages from ``cursor``."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(pages):
        body, *_ = api.get({}, cursor)
        cursor = body["next_cursor"]
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(18)
    stats.sort_stats("cumulative").print_stats(r"access_requests/|rest_framework/|django/", 22)
    text = out.getvalue()
    text = text.replace(str(PROJECT / ".venv") + "/lib/python3.11/site-packages/", "")
    return text.replace(str(PROJECT) + "/", "")


# --- the positions, releases and scenarios ----------------------------------------------------


def positions_at(offset: int) -> tuple[date, int]:
    """The keyset position (report_date, id) of the row at ``offset`` in page order."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT report_date, id FROM ingest_report ORDER BY report_date, id OFFSET %s LIMIT 1",
            [offset],
        )
        return cursor.fetchone()


def positions(total: int, requests: int) -> dict[str, tuple[date, int] | None]:
    """Keyset positions after which the scenarios start (None: no cursor, the first page)."""
    end_offset = max(0, total - requests * PAGE - 1)  # `requests` full pages up to the last row
    return {"start": None, "middle": positions_at(total // 2), "end": positions_at(end_offset)}


def cursor_for(grant_id: int, position: tuple[date, int] | None) -> str | None:
    """The cursor views.py would hand out after ``position`` (the same signing call)."""
    from django.core import signing

    from access_requests.api.views import CURSOR_SALT

    if position is None:
        return None
    day, row_id = position
    return signing.dumps([grant_id, day.isoformat(), row_id], salt=CURSOR_SALT)


def releases() -> list[tuple[str, int, date, date]]:
    """(release, rows, first day, last day), most rows first."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT release, count(*), min(report_date), max(report_date) FROM ingest_report "
            "WHERE release IS NOT NULL GROUP BY release ORDER BY count(*) DESC"
        )
        return cursor.fetchall()


def position_scenarios(grant_id: int, spots: dict, n: int) -> list[Scenario]:
    found = [
        Scenario(
            f"{name}: {n} pages from "
            + ("the first row" if spot is None else f"after {spot[0]} #{spot[1]}"),
            {},
            cursor_for(grant_id, spot),
            follow=True,
            requests=n,
        )
        for name, spot in spots.items()
    ]
    found.append(
        Scenario("middle: the same page again", {}, cursor_for(grant_id, spots["middle"]), False, n)
    )
    return found


def release_scenarios(grant_id: int, spots: dict, n: int, release_rows, total) -> list[Scenario]:
    """The release filter: dense, sparse, and a release that starts late in the period."""
    common = release_rows[0]
    sparse = min((r for r in release_rows if r[1] >= 2 * PAGE), key=lambda r: r[1])
    newest = max(release_rows, key=lambda r: r[2])
    return [
        Scenario(
            f"release={common[0]} (most common, {common[1] / total:.1%} of rows, from "
            f"{common[2]}): first page",
            {"release": common[0]},
            None,
            follow=False,
            requests=min(n, 20),
        ),
        Scenario(
            f"release={common[0]}: {n} pages from the middle",
            {"release": common[0]},
            cursor_for(grant_id, spots["middle"]),
            follow=True,
            requests=n,
        ),
        Scenario(
            f"release={sparse[0]} (sparsest, {sparse[1] / total:.2%} of rows): pages from "
            "the first row",
            {"release": sparse[0]},
            None,
            follow=True,
            requests=min(n, sparse[1] // PAGE),
        ),
        Scenario(
            f"release={newest[0]} (newest, from {newest[2]}): first page",
            {"release": newest[0]},
            None,
            follow=False,
            requests=min(n, 20),
        ),
        Scenario(
            f"release={newest[0]}&from={newest[2]}: first page",
            {"release": newest[0], "from": newest[2].isoformat()},
            None,
            follow=False,
            requests=min(n, 20),
        ),
    ]


def serialise_experiment(grant, after: tuple[date, int], pages: int) -> list[str]:
    """This process's CPU to turn 1,000 rows into the response body: now, and built in SQL.

    "Now" is what the view did (grant_scope.grant_reports + grant_scope.rows_as_dicts +
    DRF's JSONRenderer). The alternative lets PostgreSQL write each row's JSON
    with json_build_object (jsonb columns are copied, never parsed in Python),
    keys the pseudonym from precomputed HMAC-SHA256 inner and outer states, and
    joins the strings. Both bodies are checked to hold the same JSON.
    """
    import hashlib

    from django.db import connection
    from rest_framework.renderers import JSONRenderer

    from access_requests import grant_scope

    fields = grant_scope.granted_fields(grant)
    columns = {"date": "report_date", **{f: f for f in fields if f not in ("installation", "date")}}
    pairs = ", ".join(f"'{name}', {column}" for name, column in columns.items())  # fixed names
    sql = (
        f"SELECT id, report_date, platform_id, json_build_object({pairs})::text "  # noqa: S608
        "FROM ingest_report WHERE report_date BETWEEN %s AND %s AND (report_date, id) > (%s, %s) "
        "ORDER BY report_date, id LIMIT %s"
    )
    key = bytes.fromhex(grant.pseudonym_key).ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def pseudonym(platform_id: str) -> str:
        h = inner.copy()
        h.update(platform_id.encode())
        o = outer.copy()
        o.update(h.digest())
        return o.hexdigest()[:32]

    def now(position):
        rows = grant_scope.grant_reports(
            grant=grant, first=grant.period_start, last=grant.period_end, after=position
        )[: PAGE + 1]
        page = list(grant_scope.rows_as_dicts(grant, rows))[:PAGE]
        body = {"grant": grant.pk, "fields": fields, "count": len(page), "next_cursor": "x"}
        body["results"] = [values for _, values in page]
        return JSONRenderer().render(body), page[-1][0]

    def in_sql(position):
        with connection.cursor() as cursor:
            cursor.execute(sql, [grant.period_start, grant.period_end, *position, PAGE + 1])
            rows = cursor.fetchall()[:PAGE]
        head = {"grant": grant.pk, "fields": fields, "count": len(rows), "next_cursor": "x"}
        results = ",".join(f'{{"installation":"{pseudonym(r[2])}",{r[3][1:]}' for r in rows)
        text = json.dumps(head, separators=(",", ":"))[:-1] + ',"results":[' + results + "]}"
        return text.encode(), (rows[-1][1], rows[-1][0])

    lines = [
        "| build the body of one 1,000-row page | CPU p50 ms | wall p50 ms | bytes |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label, build in (
        ("now: ORM values_list + rows_as_dicts + JSONRenderer", now),
        ("alternative: json_build_object in SQL + hashlib HMAC + join", in_sql),
    ):
        position, cpu, wall, size = after, [], [], 0
        for _ in range(pages):
            started, thread = time.perf_counter(), time.thread_time()
            body, position = build(position)
            cpu.append((time.thread_time() - thread) * 1000)
            wall.append((time.perf_counter() - started) * 1000)
            size = len(body)
        lines.append(
            f"| {label} | {statistics.median(cpu):.1f} | {statistics.median(wall):.1f} | {size:,} |"
        )
    same = json.loads(now(after)[0]) == json.loads(in_sql(after)[0])
    lines.append(f"\nBoth bodies hold the same JSON: {same}.")
    return lines


# --- report -----------------------------------------------------------------------------------


def code_line() -> str:
    """The commit measured, and whether the data API's own files differ from it."""
    head = git_output(PROJECT, "rev-parse", "--short", "HEAD") or "unknown"
    changed = git_output(PROJECT, "status", "--porcelain", "--", *API_FILES)
    state = f"working tree differs from it in: {changed!r}" if changed else "unchanged"
    return f"- code: commit {head}; the data API's files ({', '.join(API_FILES)}): {state}"


def scenario_table(found: list[Scenario]) -> list[str]:
    lines = [
        "| GET /api/v1/data/reports, 1,000-row pages | n | p50 ms | p95 ms | max ms "
        "| Python CPU p50 ms | page SQL p50 / max ms | other SQL p50 ms | load 1 min "
        "| p95 <= 150 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for s in found:
        short = "" if min(s.rows) == PAGE else f" ({min(s.rows):,} rows at least)"
        lines.append(
            f"| {s.label}{short} | {len(s.wall_ms)} | {statistics.median(s.wall_ms):.1f} | "
            f"{s.p95:.1f} | {max(s.wall_ms):.1f} | {statistics.median(s.cpu_ms):.1f} | "
            f"{statistics.median(s.page_sql_ms):.1f} / {max(s.page_sql_ms):.1f} | "
            f"{statistics.median(s.other_sql_ms):.1f} | {s.load} | {verdict(s.ok)} |"
        )
    return lines


def paging_lines(paging: Paging) -> list[str]:
    ended = " (reached the end of the data)" if paging.reached_end else ""
    ok = paging.server_rate >= THROUGHPUT_TARGET
    return [
        "| paging from the start, following next_cursor | result | target |",
        "| --- | --- | --- |",
        f"| {paging.rows:,} rows in {paging.pages:,} pages{ended} | server side "
        f"**{paging.server_rate:,.0f} rows/s** (the requests alone: {paging.server_s:.1f} s); "
        f"{paging.rate:,.0f} rows/s end to end ({paging.wall_s:.1f} s, with this client's "
        f"json.loads of each page) | server side >= {THROUGHPUT_TARGET:,} rows/s: {verdict(ok)} |",
        f"| per page | p50 {statistics.median(paging.page_ms):.1f} ms, p95 "
        f"{percentile(paging.page_ms, 0.95):.1f} ms, max {max(paging.page_ms):.1f} ms; on "
        f"average Python CPU {paging.cpu_s / paging.pages * 1000:.1f} ms (p50 "
        f"{statistics.median(paging.cpu_ms):.1f} ms), page SQL "
        f"{paging.page_sql_s / paging.pages * 1000:.1f} ms, other SQL "
        f"{paging.other_sql_s / paging.pages * 1000:.1f} ms | - |",
        f"| Python CPU p95 / max per page | {percentile(paging.cpu_ms, 0.95):.1f} / "
        f"{max(paging.cpu_ms):.1f} ms; garbage collector: {paging.gc} | - |",
        f"| ceiling of one process with a CPU of its own: rows / (Python CPU + SQL) | "
        f"{paging.rows / (paging.cpu_s + paging.page_sql_s + paging.other_sql_s):,.0f} rows/s "
        "(SQL here still includes waiting for a CPU) | - |",
    ]


# --- the run ----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="Reports to load (~).")
    parser.add_argument("--quick", action="store_true", help="~1,000,000 rows (sets --rows).")
    parser.add_argument("--days", type=int, default=365, help="Days they span.")
    parser.add_argument(
        "--end-date",
        type=date.fromisoformat,
        default=None,
        help="Last day of reports (default: yesterday, UTC).",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--requests", type=int, default=50, help="Timed pages per scenario.")
    parser.add_argument("--warmup", type=int, default=5, help="Untimed pages before measuring.")
    parser.add_argument("--cap", type=float, default=60.0, help="Seconds at most per scenario.")
    parser.add_argument(
        "--page-rows", type=int, default=1_000_000, help="Rows to page through (step 3)."
    )
    parser.add_argument("--rate", default="1000000/min", help="DATA_API_RATE while measuring.")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db-name", default="portal_bench_api")
    parser.add_argument("--keep-db", action="store_true", help="Do not drop the database.")
    parser.add_argument(
        "--reuse-db",
        action="store_true",
        help="Measure the reports of a database kept by an earlier --keep-db run: no loading.",
    )
    parser.add_argument("--profile-pages", type=int, default=20, help="Pages under cProfile.")
    parser.add_argument("--gc-pages", type=int, default=300, help="Pages per GC variant.")
    parser.add_argument(
        "--index-experiment",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Re-measure the release filter with an index on (release, report_date, id).",
    )
    args = parser.parse_args()
    if args.quick:
        args.rows = 1_000_000
    if not re.match(r"postgres(ql)?://[^@/]*@?(127\.0\.0\.1|localhost)[:/]", args.pg_url + "/"):
        parser.error("--pg-url must point at 127.0.0.1")
    return args


def measure(api: Api, found: list[Scenario], cap_s: float) -> None:
    for scenario in found:
        log(f"{scenario.label}: {scenario.requests} requests; load average {loadavg()}")
        run_scenario(api, scenario, cap_s)
        log(
            f"  p50 {statistics.median(scenario.wall_ms):.1f} ms, p95 {scenario.p95:.1f} ms, "
            f"max {max(scenario.wall_ms):.1f} ms"
        )


def explain_all(found: list[Scenario]) -> list[tuple[str, str, str]]:
    return [(s.label, s.page_sql, explain(s.page_sql)) for s in found if s.follow or s.params]


def gc_experiment(api: Api, pages: int) -> list[str]:
    """Paging CPU with the collector as it is, then frozen and with a larger gen-0 threshold.

    What gunicorn's post_fork hook (or wsgi.py) could do: gc.freeze() after
    start-up, so the modules' objects are never traversed again, and
    gc.set_threshold(50_000, 20, 20), so the ~100,000 short-lived objects of a
    page are not promoted into the old generation and collected there.
    """
    lines = [
        "| collector | pages | Python CPU mean / p50 / p95 / max ms | collections (ms per page) |",
        "| --- | ---: | --- | --- |",
    ]
    default = gc.get_threshold()
    try:
        for label in ("default " + str(default), "gc.freeze() + gc.set_threshold(50000, 20, 20)"):
            if label.startswith("gc.freeze"):
                gc.collect()
                gc.freeze()
                gc.set_threshold(50_000, 20, 20)
            with GcClock() as clock:
                paging = follow_pages(api, pages * PAGE)
            cpu = paging.cpu_ms
            lines.append(
                f"| {label} | {paging.pages} | {statistics.fmean(cpu):.1f} / "
                f"{statistics.median(cpu):.1f} / {percentile(cpu, 0.95):.1f} / {max(cpu):.1f} | "
                f"{clock.summary(paging.pages)} |"
            )
    finally:
        gc.unfreeze()
        gc.set_threshold(*default)
    return lines


def index_experiment(api, grant_id, spots, args, release_rows, total) -> list[dict]:
    """The release scenarios again with an index on (release, report_date, id).

    Only in this throwaway database, and dropped again afterwards: the app's
    models are not changed. Measured twice: with the server's planner settings,
    then with random_page_cost = 1.1 (for SSDs or a cached table), because the
    planner only picks the index when it does not expect the release's rows to
    be spread evenly over the dates.
    """
    from django.db import connection

    log("experiment: CREATE INDEX ON ingest_report (release, report_date, id)")
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(
            f"CREATE INDEX {EXPERIMENT_INDEX} ON ingest_report (release, report_date, id)"
        )
        build_s = time.perf_counter() - started
        cursor.execute("ANALYZE ingest_report")
        cursor.execute("CHECKPOINT")  # not the index's writes in the measured COMMITs
        cursor.execute(f"SELECT pg_size_pretty(pg_relation_size('{EXPERIMENT_INDEX}'))")
        size = cursor.fetchone()[0]
        cursor.execute("SHOW random_page_cost")
        server_cost = cursor.fetchone()[0]
    passes = []
    try:
        for cost in (None, "1.1"):
            if cost:
                with connection.cursor() as cursor:  # this session only: the test Client's
                    cursor.execute(f"SET random_page_cost = {cost}")
            found = release_scenarios(grant_id, spots, args.requests, release_rows, total)
            measure(api, found, args.cap)
            passes.append(
                {
                    "title": f"random_page_cost = {cost or server_cost}"
                    + ("" if cost else " (the server's)"),
                    "found": found,
                    "explains": explain_all(found),
                }
            )
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET random_page_cost")
            cursor.execute(f"DROP INDEX IF EXISTS {EXPERIMENT_INDEX}")
            cursor.execute("ANALYZE ingest_report")
    for item in passes:
        item.update(build_s=build_s, size=size)
    return passes


def main() -> None:
    args = parse_args()
    command = shlex.join([".venv/bin/python", "bench/api/run.py", *sys.argv[1:]])
    configure_environment(
        args,
        DATA_API_RATE=args.rate,  # the per-token throttle must not interfere
        LOG_LEVEL="ERROR",
    )
    setup_django(PROJECT)
    from django.db import connection

    from portal.models import AuditEvent

    started = time.perf_counter()
    phases: dict[str, str] = {"start": loadavg()}
    end = args.end_date or datetime.now(UTC).date() - timedelta(days=1)
    loaded = None
    if args.reuse_db:
        if not database_exists(args):
            raise SystemExit(f"--reuse-db: there is no database {args.db_name}")
        log(f"reusing database {args.db_name}")
        # the code may have moved on
        manage("migrate", "--noinput", "-v", "0", project=PROJECT, timeout=900)
    else:
        loaded = load(args, end)
        phases["load"] = loaded["load_avg"]

    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {EXPERIMENT_INDEX}")  # an interrupted earlier run
        cursor.execute("SELECT count(*), min(report_date), max(report_date) FROM ingest_report")
        total, first, last = cursor.fetchone()
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('ingest_report'))")
        table_size = cursor.fetchone()[0]
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'ingest_report' ORDER BY 1"
        )
        table_size += " with its indexes: " + ", ".join(row[0] for row in cursor.fetchall())
    log(f"{total:,} reports from {first} to {last}; ingest_report {table_size}")
    grant, token, secret = grant_and_token(first, last)
    log(f"grant #{grant.pk} ({', '.join(grant.elements)}), token {token.prefix}…")
    release_rows = releases()
    spots = positions(total, args.requests)
    api = Api(secret)
    warm_up(api, cursor_for(grant.pk, positions_at(total // 4)), args.warmup)

    phases["latency"] = loadavg()
    found = position_scenarios(grant.pk, spots, args.requests)
    found += release_scenarios(grant.pk, spots, args.requests, release_rows, total)
    measure(api, found, args.cap)

    phases["paging"] = loadavg()
    log(f"paging through {args.page_rows:,} rows; load average {loadavg()}")
    paging = page_through(api, args.page_rows)
    log(f"  {paging.rows:,} rows in {paging.wall_s:.1f} s: {paging.rate:,.0f} rows/s")

    phases["profiles"] = loadavg()
    explains = explain_all(found)
    middle_cursor = cursor_for(grant.pk, spots["middle"])
    profile = profile_pages(api, middle_cursor, args.profile_pages)
    serialising = serialise_experiment(grant, spots["middle"], args.profile_pages)
    phases["gc"] = loadavg()
    collecting = gc_experiment(api, args.gc_pages)
    experiment = []
    if args.index_experiment:
        phases["experiment"] = loadavg()
        experiment = index_experiment(api, grant.pk, spots, args, release_rows, total)
    phases["end"] = loadavg()
    audited = AuditEvent.objects.filter(action="data.read", target_id=str(token.pk)).count()
    close_connections()

    # --- the report ---
    print("\n" + "=" * 100 + "\n")
    print(f"## Data API benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n")
    print(f"Command: `{command}` (total {time.perf_counter() - started:.0f} s)\n")
    print(machine_line())
    print(postgres_line(args, *POSTGRES_SETTINGS))
    print(code_line())
    print(
        "- load average (1/5/15 min) at the start of each phase: "
        + ", ".join(f"{phase} {value}" for phase, value in phases.items())
        + f" (nproc={os.cpu_count()}; other benchmarks may share the machine)"
    )
    data_line = f"- data: {total:,} reports, {first} to {last}, ingest_report {table_size}"
    if loaded:
        data_line += (
            f"; `generate_telemetry --installations {loaded['installations']} --days "
            f"{args.days} --end-date {end} --seed {args.seed}`: {loaded['rows']:,} rows in "
            f"{loaded['command_s']:.1f} s ({loaded['wall_s']:.1f} s wall), then VACUUM "
            f"(ANALYZE) and CHECKPOINT {loaded['vacuum_s']:.1f} s"
        )
    print(data_line)
    print(
        f"- grant #{grant.pk}: {', '.join(grant.elements)}; datasets {grant.datasets}; "
        f"{grant.period_start} to {grant.period_end}; DATA_API_RATE={args.rate}, "
        f"locmem cache; {audited:,} data.read audit rows written by this run; releases: "
        + ", ".join(f"{r[0]} {r[1] / total:.1%} from {r[2]}" for r in release_rows)
        + "\n"
    )
    print("### Latency of one page (server side, in-process test Client)\n")
    print("\n".join(scenario_table(found)))
    print(
        "\nPython CPU: this thread's CPU time in the request (Django, DRF, psycopg, pseudonyms, "
        "JSON). Page SQL: the ingest_report query as Django times it (PostgreSQL, transfer, "
        "waiting for a CPU); other SQL: token lookup and the audit write with its COMMIT. "
        f"Wall time well above CPU + SQL is time spent waiting for one of the {os.cpu_count()} "
        "CPUs.\n"
    )
    print("### Paging through granted rows\n")
    print("\n".join(paging_lines(paging)))
    for item in experiment:
        print(
            "\n### Experiment: the release filter with an index on (release, report_date, id), "
            f"{item['title']}\n\nBuilt in {item['build_s']:.1f} s, {item['size']}; dropped "
            "afterwards (not part of the app).\n"
        )
        print("\n".join(scenario_table(item["found"])))
    print("\n### Experiment: the garbage collector, paging from the start\n")
    print("\n".join(collecting))
    print(f"\n### Experiment: serialising {args.profile_pages} pages from the middle\n")
    print("\n".join(serialising))
    print("\n### EXPLAIN (ANALYZE, BUFFERS) of the page queries\n")
    for item in experiment:
        explains += [
            (f"{label}; index, {item['title']}", sql, plan) for label, sql, plan in item["explains"]
        ]
    for label, sql, plan in explains:
        print(f"#### {label}\n\n```sql\n{sql}\n```\n\n```\n{plan}\n```\n")
    print(f"### cProfile of {args.profile_pages} consecutive pages from the middle\n")
    print(f"```\n{profile.strip()}\n```")

    if args.keep_db:
        log(f"kept database {args.db_name}")
    else:
        drop_database(args)
        log(f"dropped database {args.db_name}")


if __name__ == "__main__":
    main()
