"""Gunicorn configuration for the portal, used by `make run` and in production.

The access log format leaves out the client address (%(h)s) and every handler
redacts addresses and installation IDs from messages gunicorn writes itself
(such as "Invalid request from ip=...").

With PROMETHEUS_MULTIPROC_DIR set, each worker writes its metrics to a file of its own
there (docs/metrics.md): the folder is emptied of stale files when the server starts
(prometheus_client's files that no live process holds open), and a worker that exits is
marked dead.
"""

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
    """Start the metrics folder afresh: remove the files no live process writes any more."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        removed = multiprocess_files_clear_stale(folder)
        server.log.info("Metrics folder: %d stale files removed.", len(removed))


# The names prometheus_client gives its files, <kind>_<pid>.db (prometheus_client/values.py):
# counters, histograms, summaries, and gauges by multiprocess mode.
PROMETHEUS_FILE_NAME = re.compile(
    r"(?:counter|histogram|summary|gauge_(?:live)?(?:all|min|max|sum|mostrecent))_(\d+)\.db"
)


def multiprocess_files_clear_stale(folder: str) -> list[str]:
    """Remove the metric files that no live process writes; return their names.

    Stale: the process the name gives is gone, or is alive but does not hold the file open
    (a reused process ID). A live writer's file stays: on one machine the Celery worker
    shares the folder, and its pool children keep writing to the files they have open.
    Only prometheus_client's own names, directly in the folder, and only regular files:
    any other name, a symbolic link, a directory is left as it is, and so is the folder.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return removed  # the portal's settings refuse such a folder, with a clear message
    for entry in entries:
        match = PROMETHEUS_FILE_NAME.fullmatch(entry.name)
        if match is None or not entry.is_file(follow_symlinks=False):
            continue
        if _file_written_by(int(match.group(1)), entry.path):
            continue
        try:
            os.unlink(entry.path)
        except FileNotFoundError:
            continue
        removed.append(entry.name)
    return removed


def _file_written_by(pid: int, path: str) -> bool:
    """Whether process ``pid`` holds ``path`` open, as /proc shows; where /proc cannot tell
    (another user's process, no /proc), whether the process exists at all."""
    if not _process_alive(pid):
        return False
    descriptors = f"/proc/{pid}/fd"
    try:
        names = os.listdir(descriptors)
    except OSError:
        return True  # cannot see: a live process might be writing it, keep it
    target = os.path.realpath(path)
    for name in names:
        try:
            if os.readlink(os.path.join(descriptors, name)) == target:
                return True
        except OSError:  # closed meanwhile
            continue
    return False


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
