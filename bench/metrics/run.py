"""What the Prometheus metrics cost: one recorded event, and one scrape.

Each measurement runs in a fresh Python process, with and without
PROMETHEUS_MULTIPROC_DIR (prometheus-client picks its mode at import). The scrape is
timed over the files of PROCESSES processes that each recorded every metric, as after
a day of gunicorn workers and Celery children, then whole (scrape-time gauges included)
against DATABASE_URL and REDIS_URL when they are set.

    .venv/bin/python bench/metrics/run.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/metrics/run.py
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORK_TREE = Path(__file__).resolve().parents[1].parent
PROCESSES = 16

SETUP = """
import os, timeit
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DEBUG", "1")
import django
django.setup()
from portal import metrics
"""

RECORD = (
    SETUP
    + """
n = 200_000
empty = timeit.timeit(lambda: None, number=n)
def per_call(function):
    return (timeit.timeit(function, number=n) - empty) / n * 1e6
answer = per_call(lambda: metrics.receiver_answer_record(202, "new"))
print(f"receiver answer      {answer:6.2f} us")
unknown = per_call(lambda: metrics.receiver_answer_record(400, "x"))
print(f"unknown answer       {unknown:6.2f} us")
print(f"discarded fields     {per_call(lambda: metrics.discarded_fields_record(3)):6.2f} us")
def job():
    with metrics.ingest_job_timed("rollup"):
        pass
print(f"timed job            {per_call(job):6.2f} us")
"""
)

FILL = (
    SETUP
    + """
for status, reasons in metrics.RECEIVER_REASONS.items():
    for reason in reasons:
        metrics.receiver_answer_record(status, reason)
metrics.discarded_fields_record(2)
for job in metrics.INGEST_JOBS:
    with metrics.ingest_job_timed(job):
        pass
for file_format in metrics.EXPORT_FORMATS:
    metrics.export_build_record(file_format=file_format, outcome="ready", seconds=3)
"""
)

SCRAPE = (
    SETUP
    + """
import time
from prometheus_client import generate_latest
def best_of(function, rounds=20):
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        timings.append(time.perf_counter() - started)
    return min(timings) * 1e3, sorted(timings)[len(timings) // 2] * 1e3
low, median = best_of(lambda: generate_latest(metrics.recorded_registry()))
print(f"recorded metrics     {low:6.1f} ms best, {median:6.1f} ms median")
if os.environ.get("DATABASE_URL"):
    low, median = best_of(metrics.exposition)
    print(f"whole scrape         {low:6.1f} ms best, {median:6.1f} ms median")
"""
)


def run(code: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=WORK_TREE,
        env=dict(env, PYTHONPATH=str(WORK_TREE)),
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def loadavg() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    base = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    print(f"nproc={os.cpu_count()} load={loadavg()} {time.strftime('%Y-%m-%d %H:%M:%S')}")
    print("database:", "DATABASE_URL" if base.get("DATABASE_URL") else "none (SQLite)")
    print("\n-- plain (one process, in memory) --")
    print(run(RECORD, base), end="")
    print(run(SCRAPE, base), end="")
    with tempfile.TemporaryDirectory(prefix="portal-metrics-bench-") as folder:
        multiprocess = dict(base, PROMETHEUS_MULTIPROC_DIR=folder)
        print(f"\n-- multiprocess ({PROCESSES} processes' files) --")
        print(run(RECORD, multiprocess), end="")
        for _ in range(PROCESSES - 1):
            run(FILL, multiprocess)
        files = len(list(Path(folder).glob("*.db")))
        print(f"files in the folder  {files}")
        print(run(SCRAPE, multiprocess), end="")
    print(f"\nload={loadavg()}")


if __name__ == "__main__":
    main()
