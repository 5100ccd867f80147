"""Every Prometheus metric of the portal, and how a scrape reads them.

Two kinds. Recorded metrics (counters, histograms) are incremented where things happen,
by one-line calls in views, services and tasks; with PROMETHEUS_MULTIPROC_DIR set each
process (gunicorn worker, Celery pool child) writes its own file there and a scrape
merges them. Scrape-time gauges (database and Redis health, queue lengths and ages) are
computed by the process that answers the scrape, from the database and Redis, with
short timeouts.

No label carries anything a sender or a member sent: every label value comes from a
fixed set written below, and anything else is counted as "other". A discarded field's
NAME is not a label either (an anonymous sender chooses it; it could be an address or an
installation ID): only their total is counted.
"""

import functools
import hmac
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import redis
from django.conf import settings
from django.db import connection, transaction
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    make_wsgi_app,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

logger = logging.getLogger(__name__)

# A *_created sample per counter doubles the series and tells operators nothing here.
disable_created_metrics()

OTHER = "other"

# --- the receiver: one answer, one increment ----------------------------------------------

# Every (status, reason) the receiver answers with (ingest/views.py, ingest/parsing.py):
# 202 new/replaced, 200 not stored, the refusals by error code. tests/portal/test_metrics.py
# checks that ingest raises no error code missing here.
RECEIVER_REASONS: dict[int, tuple[str, ...]] = {
    202: ("new", "replaced"),
    200: ("daily_limit_reached", "options"),
    400: (
        "malformed_json",
        "not_an_object",
        "missing_field",
        "invalid_field",
        "bad_content_length",
    ),
    405: ("method_not_allowed",),
    413: ("payload_too_large",),
    415: ("unsupported_media_type",),
    429: ("rate_limited",),
    503: ("storage_unavailable", "no_published_policy"),
}

RECEIVER_ANSWERS = Counter(
    "portal_receiver_answers",
    "Answers of the receiver (POST /collecting, /api/v1/reports) by HTTP status and reason.",
    ["status", "reason"],
)
# Pre-bound children: an answer costs a dict lookup and an increment.
_RECEIVER_CHILDREN = {
    (status, reason): RECEIVER_ANSWERS.labels(status=str(status), reason=reason)
    for status, reasons in RECEIVER_REASONS.items()
    for reason in (*reasons, OTHER)
}
_RECEIVER_OTHER = RECEIVER_ANSWERS.labels(status=OTHER, reason=OTHER)

DISCARDED_FIELDS = Counter(
    "portal_receiver_discarded_fields",
    "Fields of stored reports that the policy does not approve and were discarded unread "
    "(a total only: field names are never labels).",
)
REPORTS_WITH_DISCARDED_FIELDS = Counter(
    "portal_receiver_reports_with_discarded_fields",
    "Stored reports that carried at least one discarded field.",
)


def receiver_answer_record(status: int, reason: str) -> None:
    """Count one answer of the receiver; an unknown status or reason counts as "other"."""
    child = _RECEIVER_CHILDREN.get((status, reason))
    if child is None:
        child = _RECEIVER_CHILDREN.get((status, OTHER), _RECEIVER_OTHER)
    child.inc()


def discarded_fields_record(count: int) -> None:
    if count:
        DISCARDED_FIELDS.inc(count)
        REPORTS_WITH_DISCARDED_FIELDS.inc()


# --- the periodic jobs of ingest (Celery tasks) -------------------------------------------

INGEST_JOBS = ("rollup", "release", "purge")
JOB_OUTCOMES = ("ok", "error")
INGEST_JOB_DURATION = Histogram(
    "portal_ingest_job_duration_seconds",
    "Duration of the periodic ingest jobs: rollup (exact daily rollups), release (the "
    "public, noisy release of closed days), purge (reports past retention).",
    ["job", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)
INGEST_JOB_LAST_SUCCESS = Gauge(
    "portal_ingest_job_last_success_timestamp_seconds",
    "When each periodic ingest job last finished without error (Unix time).",
    ["job"],
    multiprocess_mode="max",
)


def _known(value: str, known: tuple[str, ...]) -> str:
    return value if value in known else OTHER


@contextmanager
def ingest_job_timed(job: str) -> Iterator[None]:
    """Observe the block's duration as ``job``, with outcome ok or error."""
    job = _known(job, INGEST_JOBS)
    started = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    finally:
        INGEST_JOB_DURATION.labels(job=job, outcome=outcome).observe(time.perf_counter() - started)
        if outcome == "ok":
            INGEST_JOB_LAST_SUCCESS.labels(job=job).set(time.time())


# --- export builds (access_requests.services.exports) -------------------------------------

EXPORT_FORMATS = ("csv", "jsonl", "parquet")
EXPORT_OUTCOMES = ("ready", "failed", "superseded")
EXPORT_BUILDS = Counter(
    "portal_export_builds",
    "Export build attempts that ended, by format and outcome (ready, failed, or superseded "
    "by a newer attempt).",
    ["format", "outcome"],
)
EXPORT_BUILD_DURATION = Histogram(
    "portal_export_build_duration_seconds",
    "Duration of an export build attempt, from its claim by a worker to its end.",
    ["format", "outcome"],
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600),
)


def export_build_record(*, file_format: str, outcome: str, seconds: float) -> None:
    labels = {
        "format": _known(file_format, EXPORT_FORMATS),
        "outcome": _known(outcome, EXPORT_OUTCOMES),
    }
    EXPORT_BUILDS.labels(**labels).inc()
    EXPORT_BUILD_DURATION.labels(**labels).observe(max(0.0, seconds))


# --- scrape time: queues, database and Redis ----------------------------------------------

EXPORT_WAITING_STATES = ("queued", "running")


@dataclass(frozen=True)
class QueueFigures:
    """What the access process has waiting, read from the database at scrape time.

    Ages are in seconds, 0 when nothing waits.
    """

    requests_pending: int
    requests_overdue: int
    request_oldest_pending_age: float
    exports_waiting: dict[str, int] = field(default_factory=dict)
    export_oldest_waiting_age: dict[str, float] = field(default_factory=dict)


# access_requests sets it when it is ready (AccessRequestsConfig.ready): the kernel reads
# the app's queues without importing it.
_queue_figures_reader: Callable[[], QueueFigures] | None = None


def queue_figures_reader_set(reader: Callable[[], QueueFigures]) -> None:
    global _queue_figures_reader
    _queue_figures_reader = reader


DATABASE_TIMEOUT_SECONDS = 2  # libpq's connect_timeout has a 2 s floor
REDIS_TIMEOUT_SECONDS = 0.5
QUERY_TIMEOUT_MILLISECONDS = 2000


def _gauge(name: str, documentation: str, labels: tuple[str, ...] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=list(labels))


def database_probe() -> float | None:
    """The round trip of SELECT 1 in seconds, or None when the database does not answer.

    On PostgreSQL a connection of its own with a 2 s connect timeout and a 1 s statement
    timeout, so that an unreachable server cannot hold the scrape (Django's pooled
    connection has no connect timeout).
    """
    try:
        if connection.vendor != "postgresql":
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
            return time.perf_counter() - started
        import psycopg

        with psycopg.connect(**_probe_connection_parameters()) as probe:
            started = time.perf_counter()
            probe.execute("SELECT 1").fetchone()
            return time.perf_counter() - started
    except Exception:  # any failure to reach the database means it is down
        return None


# Keys of Django's OPTIONS that are Django's own, not libpq's.
_DJANGO_ONLY_OPTIONS = {"isolation_level", "pool", "server_side_binding", "assume_role"}


def _probe_connection_parameters() -> dict:
    database = settings.DATABASES["default"]
    options = {
        key: value
        for key, value in (database.get("OPTIONS") or {}).items()
        if key not in _DJANGO_ONLY_OPTIONS
    }
    parameters = {
        "dbname": database["NAME"],
        "user": database.get("USER") or None,
        "password": database.get("PASSWORD") or None,
        "host": database.get("HOST") or None,
        "port": database.get("PORT") or None,
        **options,
        "connect_timeout": DATABASE_TIMEOUT_SECONDS,
        "options": "-c statement_timeout=1000",
        "application_name": "portal-metrics",
    }
    return {key: value for key, value in parameters.items() if value is not None}


@functools.cache
def _redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
    )


def redis_probe(url: str) -> float | None:
    """The round trip of PING in seconds, or None when Redis does not answer."""
    try:
        started = time.perf_counter()
        _redis_client(url).ping()
        return time.perf_counter() - started
    except Exception:  # any failure to reach Redis means it is down
        return None


def celery_queue_names() -> tuple[str, ...]:
    """The broker's queues, from the Celery configuration (code, never a request)."""
    from portal.celery import app

    names = [app.conf.task_default_queue]
    names += [queue.name for queue in app.conf.task_queues or ()]
    return tuple(dict.fromkeys(names))


def _redis_families() -> Iterator[Metric]:
    up = _gauge("portal_redis_up", "1 if Redis answered PING at this scrape, else 0.", ("role",))
    trip = _gauge(
        "portal_redis_round_trip_seconds", "Round trip of PING at this scrape.", ("role",)
    )
    roles = {"cache": settings.CACHE_URL, "broker": settings.REDIS_URL}
    answers = {role: redis_probe(url) for role, url in roles.items() if url}
    for role, seconds in answers.items():
        up.add_metric([role], 0 if seconds is None else 1)
        if seconds is not None:
            trip.add_metric([role], seconds)
    yield up
    yield trip
    if settings.REDIS_URL and answers.get("broker") is not None:
        yield _celery_queue_family()


def _celery_queue_family() -> Metric:
    family = _gauge(
        "portal_celery_queue_length",
        "Tasks waiting in the broker's queue (Redis LLEN) at this scrape.",
        ("queue",),
    )
    client = _redis_client(settings.REDIS_URL)
    try:
        for name in celery_queue_names():
            family.add_metric([name], client.llen(name))
    except Exception:  # the broker went away between PING and LLEN: no figure this time
        logger.warning("Celery queue lengths not read: the broker did not answer.")
    return family


def _database_families() -> tuple[list[Metric], bool]:
    seconds = database_probe()
    up = _gauge("portal_database_up", "1 if the database answered SELECT 1 at this scrape.")
    up.add_metric([], 0 if seconds is None else 1)
    families: list[Metric] = [up]
    if seconds is not None:
        trip = _gauge(
            "portal_database_round_trip_seconds", "Round trip of SELECT 1 at this scrape."
        )
        trip.add_metric([], seconds)
        families.append(trip)
    return families, seconds is not None


def queue_figures_read() -> QueueFigures | None:
    """The access process's queues, under a statement timeout; None if they cannot be read."""
    if _queue_figures_reader is None:
        return None
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL statement_timeout = {QUERY_TIMEOUT_MILLISECONDS}")
            return _queue_figures_reader()
    except Exception as exc:  # a slow or failing database: no queue figures at this scrape
        logger.warning("Queue figures not read at this scrape: %s", exc.__class__.__name__)
        return None


def _queue_families(figures: QueueFigures) -> Iterator[Metric]:
    pending = _gauge(
        "portal_access_requests_pending",
        "Access requests pending (submitted, more information asked, answered).",
    )
    pending.add_metric([], figures.requests_pending)
    overdue = _gauge(
        "portal_access_requests_overdue",
        "Pending access requests older than ACCESS_REVIEW_SLA_DAYS.",
    )
    overdue.add_metric([], figures.requests_overdue)
    oldest = _gauge(
        "portal_access_request_oldest_pending_age_seconds",
        "Age of the oldest pending access request, since it was filed (0 when none).",
    )
    oldest.add_metric([], figures.request_oldest_pending_age)
    waiting = _gauge("portal_exports_waiting", "Exports queued or running, by state.", ("state",))
    waiting_age = _gauge(
        "portal_export_oldest_waiting_age_seconds",
        "Age of the oldest export in each state, since it was asked for (0 when none).",
        ("state",),
    )
    for state in EXPORT_WAITING_STATES:
        waiting.add_metric([state], figures.exports_waiting.get(state, 0))
        waiting_age.add_metric([state], figures.export_oldest_waiting_age.get(state, 0.0))
    yield from (pending, overdue, oldest, waiting, waiting_age)


class ScrapeTimeCollector(Collector):
    """The gauges computed when the web server is scraped (never written to files)."""

    def collect(self) -> Iterator[Metric]:
        families, database_up = _database_families()
        yield from families
        yield from _redis_families()
        figures = queue_figures_read() if database_up else None
        if figures is not None:
            yield from _queue_families(figures)


@functools.cache
def _scrape_time_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ScrapeTimeCollector())
    return registry


# --- exposition -----------------------------------------------------------------------------


def multiprocess_directory() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def recorded_registry() -> CollectorRegistry:
    """What the processes recorded: every process's files merged, or this process's own."""
    if multiprocess_directory() is None:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


def exposition() -> bytes:
    """The web server's whole scrape: the recorded metrics, then the scrape-time gauges."""
    return generate_latest(recorded_registry()) + generate_latest(_scrape_time_registry())


# --- who may scrape: the web's /metrics and the worker's METRICS_PORT alike ----------------

METRICS_CHALLENGE = 'Bearer realm="metrics"'


def metrics_token_matches(authorization: str) -> bool:
    """Whether an Authorization header carries METRICS_TOKEN as a bearer token.

    Constant-time, so that the answer's timing tells nothing about the token. False when
    no token is configured: then there is nothing to match (the endpoints answer 404).
    """
    token = settings.METRICS_TOKEN
    scheme, _, credential = authorization.partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(credential.strip().encode(), token.encode())


# --- the Celery worker's own server (METRICS_PORT) ----------------------------------------

WORKER_HEALTH_PATH = "/healthz"
WORKER_METRICS_PATH = "/metrics"
_PLAIN_TEXT = ("Content-Type", "text/plain; charset=utf-8")
_NO_STORE = ("Cache-Control", "no-store")


def worker_metrics_application(registry: CollectorRegistry) -> Callable:
    """The WSGI application of the worker's METRICS_PORT: the same gate as the web's.

    /metrics wants METRICS_TOKEN (401 with a Bearer challenge without it, 404 when none
    is configured); /healthz is the kubelet's, which cannot send a secret: it answers
    that the worker's main process serves, and carries no figure.
    """
    exposition_app = make_wsgi_app(registry)

    def application(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == WORKER_HEALTH_PATH:
            return _plain(start_response, "200 OK", b'{"status": "ok"}\n', json=True)
        if path != WORKER_METRICS_PATH or not settings.METRICS_TOKEN:
            return _plain(start_response, "404 Not Found", b"Not found.\n")
        if not metrics_token_matches(environ.get("HTTP_AUTHORIZATION", "")):
            challenge = [("WWW-Authenticate", METRICS_CHALLENGE)]
            body = b"A bearer token is required.\n"
            return _plain(start_response, "401 Unauthorized", body, extra=challenge)
        return exposition_app(environ, _with_headers(start_response, [_NO_STORE]))

    return application


def _plain(start_response, status: str, body: bytes, *, json: bool = False, extra=()) -> list:
    content_type = ("Content-Type", "application/json") if json else _PLAIN_TEXT
    start_response(status, [content_type, _NO_STORE, *extra])
    return [body]


def _with_headers(start_response, headers: list[tuple[str, str]]) -> Callable:
    def start(status, response_headers, exc_info=None):
        return start_response(status, [*response_headers, *headers], exc_info)

    return start


class _QuietRequestHandler(WSGIRequestHandler):
    """No request line on stderr: wsgiref's would name the client's address."""

    def log_message(self, format, *args):
        pass


class _WorkerMetricsServer(ThreadingWSGIServer):
    address_family = socket.AF_INET


# Every interface: Prometheus reaches a worker pod by its address (the port is in no Service).
WORKER_METRICS_ADDRESS = "0.0.0.0"  # noqa: S104  # nosec B104


def worker_metrics_server_start(port: int, address: str = WORKER_METRICS_ADDRESS) -> WSGIServer:
    """Serve the Celery worker's recorded metrics on ``port`` (its main process, once).

    The pool's children write their files to PROMETHEUS_MULTIPROC_DIR (settings refuse
    METRICS_PORT without it); this server merges them. Scrape-time gauges are the web
    server's alone, so that they are not counted once per pod. The server runs in a
    daemon thread; it is returned so that a caller can shut it down.
    """
    application = worker_metrics_application(recorded_registry())
    server = make_server(
        address, port, application, _WorkerMetricsServer, handler_class=_QuietRequestHandler
    )
    threading.Thread(target=server.serve_forever, name="worker-metrics", daemon=True).start()
    if not settings.METRICS_TOKEN:
        logger.warning("METRICS_TOKEN is not set: the worker's /metrics answers 404.")
    logger.info("Worker metrics served on port %s.", server.server_port)
    return server
