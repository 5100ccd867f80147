"""Gunicorn configuration for the portal, used by `make run` and in production.

The access log format leaves out the client address (%(h)s) and every handler
redacts addresses and installation IDs from messages gunicorn writes itself
(such as "Invalid request from ip=...").

With PROMETHEUS_MULTIPROC_DIR set, each worker writes its metrics to a file of its own
there (docs/metrics.md): the folder is emptied of dead processes' files when the server
starts, and a worker that exits is marked dead.
"""

import glob
import os
import re

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
worker_class = "gthread"
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = 100
limit_request_line = 4094
limit_request_fields = 60
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "telemetry-portal"
accesslog = None if os.environ.get("GUNICORN_ACCESS_LOG", "1") == "0" else "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(t)s "%(r)s" %(s)s %(b)s %(M)sms'
logger_class = "portal.logging.GunicornLogger"

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_addresses": {"()": "portal.logging.RedactAddressesFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_addresses"],
            "stream": "ext://sys.stdout",
        },
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_addresses"],
            "stream": "ext://sys.stderr",
        },
    },
    "root": {"level": "INFO", "handlers": ["error_console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
    },
}


def post_fork(server, worker):
    """Keep start-up objects out of garbage collection, and collect less often.

    A data API page allocates thousands of short-lived objects; with the default
    thresholds full collections over the whole heap made the slowest pages.
    """
    import gc

    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def on_starting(server):
    """Start the metrics folder afresh: remove the files of processes that are gone.

    Files of live processes stay: on one machine the Celery worker shares the folder, and
    its pool children keep writing to the files they have open.
    """
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return
    for path in glob.glob(os.path.join(folder, "*.db")):
        match = re.search(r"_(\d+)\.db$", path)
        if match is None or not _process_alive(int(match.group(1))):
            os.remove(path)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def child_exit(server, worker):
    """A worker's live gauges leave with it (its counters stay in the sums)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
