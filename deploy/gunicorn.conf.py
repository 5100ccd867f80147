"""Gunicorn configuration for the portal, used by `make run` and in production.

The access log format leaves out the client address (%(h)s) and every handler
redacts addresses and installation IDs from messages gunicorn writes itself
(such as "Invalid request from ip=...").
"""

import os

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
