"""What the four benchmarks (bench/ingest, bench/stats, bench/api, bench/export) share.

- logging, the load average and the CPU times in /proc;
- the throwaway PostgreSQL database each one creates (``args.pg_url`` and
  ``args.db_name``), measures and drops;
- the code measured: git, and a snapshot of HEAD that edits cannot reach;
- the environment of manage.py children and of Django in the benchmark's process;
- manage.py, and the synthetic fleet generate_telemetry loads;
- an approved grant to measure;
- what the reports print: the machine, PostgreSQL's settings, percentiles, verdicts.
"""

import math
import os
import platform
import random
import re
import shlex
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import date, timedelta
from pathlib import Path

import psycopg

WORK_TREE = Path(__file__).resolve().parents[1]  # the project this bench/ folder belongs to
# The mean chance of a report on a weekday: 0.35 * 0.925 + 0.40 * 0.625 + 0.25 * 0.225
# (see ingest.synthetic.activity); only sizes the fleet, the real count is printed.
MEAN_ACTIVITY = 0.63
GENERATED_LINE = re.compile(r"Generated ([\d,]+) reports .* in ([\d.]+) s")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")  # the unit of /proc's CPU times


# --- logging, load and CPU time ---------------------------------------------------------------


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def loadavg() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


def process_cpu_ticks(pid: int) -> int | None:
    """User plus system CPU time of a process so far, in ticks; None once it has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[11]) + int(fields[12])


def machine_busy_ticks() -> int:
    """CPU time of every core since boot but idle and iowait, in ticks.

    Only the first eight fields (user to steal) count: guest time is in user already.
    """
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields[:8]) - fields[3] - fields[4]


# --- the throwaway database -------------------------------------------------------------------


def admin_connection(args) -> psycopg.Connection:
    return psycopg.connect(f"{args.pg_url}/postgres", autocommit=True)


def bench_connection(args) -> psycopg.Connection:
    return psycopg.connect(f"{args.pg_url}/{args.db_name}", autocommit=True)


def recreate_database(args) -> None:
    with admin_connection(args) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.db_name}"')


def drop_database(args) -> None:
    with admin_connection(args) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')


def database_exists(args) -> bool:
    with admin_connection(args) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.db_name])
        return found.fetchone() is not None


def timed_sql(args, *statements: str) -> float:
    started = time.perf_counter()
    with bench_connection(args) as conn:
        for statement in statements:
            conn.execute(statement)
    return time.perf_counter() - started


def close_connections() -> None:
    from django.db import connections

    connections.close_all()


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


# --- the code measured ------------------------------------------------------------------------


def git_output(repo: Path, *arguments: str) -> str:
    """What a git command prints in ``repo``, stripped; "" if it fails (not a checkout)."""
    done = subprocess.run(
        ["git", *arguments], cwd=repo, capture_output=True, text=True, check=False
    )
    return done.stdout.strip()


def snapshot_head(repo: Path, prefix: str) -> tuple[Path, str]:
    """HEAD of ``repo`` exported by ``git archive`` into a new temporary folder, and its commit.

    Others edit the work tree while benchmarks run: code measured from a snapshot
    cannot change under a long run. The caller removes the folder.
    """
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    archive = subprocess.run(["git", "archive", commit], cwd=repo, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder, commit


# --- the environment and Django ---------------------------------------------------------------


def configure_environment(args, **settings: str | None) -> None:
    """The settings every manage.py child and the benchmark's own Django read.

    The throwaway database, DEBUG off, no static manifest, a local-memory cache and
    eager Celery (no REDIS_URL), no SMTP; ``settings`` adds the benchmark's own, and
    one given as None is removed from the environment.
    """
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DATABASE_URL": f"{args.pg_url}/{args.db_name}",
            "SECRET_KEY": "x",
            "DEBUG": "0",
            "STATIC_MANIFEST": "0",
            "ALLOWED_HOSTS": "testserver,127.0.0.1",
            "REDIS_URL": "",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        }
    )
    for name, value in settings.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def setup_django(project: Path) -> None:
    """Django in this process, on the code in ``project``."""
    sys.path.insert(0, str(project))
    os.chdir(project)
    warnings.filterwarnings("ignore", "No directory at", UserWarning)  # no collectstatic
    import django

    django.setup()


# --- manage.py and the synthetic fleet --------------------------------------------------------


def manage(*arguments: str, project: Path, timeout: float) -> tuple[str, float]:
    """Run a manage.py command; returns (stdout, wall seconds including start-up)."""
    log("$ " + shlex.join(["manage.py", *arguments]))
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"manage.py {arguments[0]} failed with exit code {done.returncode}")
    return done.stdout, elapsed


def fleet_size(rows: int, days: int, end: date, seed: int) -> int:
    """Installations for ~``rows`` reports, from the generator's own lifespans.

    The lifespans come from one generator, in order, so the first N are the same
    for any fleet size: draw them until their expected reports reach ``rows``.
    """
    from ingest import synthetic as gen

    dates = [end - timedelta(days=days - 1 - offset) for offset in range(days)]
    cumulative = [0.0]
    for day in dates:
        weight = gen.WEEKEND_ACTIVITY if day.weekday() >= 5 else 1.0
        cumulative.append(cumulative[-1] + MEAN_ACTIVITY * weight)
    spans = random.Random(f"{seed}:lifespans")
    expected, count = 0.0, 0
    while expected < rows:
        span = gen.lifespan(spans, days)
        expected += cumulative[span.last + 1] - cumulative[span.first]
        count += 1
    return count


def generate_fleet(
    installations: int, days: int, end: date, seed: int, *, project: Path, timeout: float
) -> dict:
    """``generate_telemetry`` for the fleet: what it loaded, and how long it took."""
    out, wall = manage(
        "generate_telemetry",
        f"--installations={installations}",
        f"--days={days}",
        f"--end-date={end}",
        f"--seed={seed}",
        project=project,
        timeout=timeout,
    )
    match = GENERATED_LINE.search(out)
    if not match:
        raise SystemExit(f"unexpected generate_telemetry output: {out!r}")
    log(out.strip())
    return {
        "rows": int(match.group(1).replace(",", "")),
        "command_s": float(match.group(2)),
        "wall_s": wall,
        "installations": installations,
        "days": days,
        "seed": seed,
        "end": end,
    }


# --- a grant to measure -----------------------------------------------------------------------


def reports_grant(grantee, reviewer, *, elements, first: date, last: date, duration_days: int):
    """An approved grant of the dataset ``reports`` from ``first`` to ``last``.

    Filed by ``grantee`` with the tests' ``file_request`` and approved by
    ``reviewer``, through the services, in this process (after setup_django).
    """
    from access_requests import services
    from tests.access_requests.factories import file_request

    request = file_request(
        grantee,
        datasets=["reports"],
        elements=elements,
        period_start=first,
        period_end=last,
        duration_days=duration_days,
    )
    return services.access_request_approve(request=request, reviewer=reviewer)


# --- the report: the machine, percentiles, verdicts -------------------------------------------


def cpu_model() -> str:
    return next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor() or "unknown",
    )  # fmt: skip


def machine_line(*extras: str, ram: bool = True) -> str:
    """nproc, the CPU, RAM (unless ``ram`` is false), the kernel and Python, then ``extras``
    (the versions of what else the benchmark measures)."""
    parts = [f"nproc={os.cpu_count()}", cpu_model()]
    if ram:
        parts.append(f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') // 2**30} GiB RAM")
    parts += [f"{platform.system()} {platform.release()}", f"Python {platform.python_version()}"]
    return "- machine: " + ", ".join([*parts, *extras])


def postgres_settings(args, *names: str) -> dict[str, str]:
    """``SHOW`` each of the settings ``names`` (fixed names, never input) on the server."""
    with admin_connection(args) as conn:
        return {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in names}


def postgres_line(args, *names: str) -> str:
    """The server's version and the settings ``names``, and the benchmark's database."""
    shown = postgres_settings(args, "server_version", *names)
    version = shown.pop("server_version")
    settings = ", ".join(f"{name}={value}" for name, value in shown.items())
    return f"- PostgreSQL {version} on 127.0.0.1 ({settings}), database {args.db_name}"


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile: a value that was measured, never an interpolation."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def verdict(ok: bool) -> str:
    """A target in a markdown table: met, or missed in bold."""
    return "ok" if ok else "**MISSED**"


def pass_fail(ok: bool) -> str:
    """A target in a list of checks."""
    return "PASS" if ok else "FAIL"
