import logging
import os
from pathlib import Path

from celery import Celery
from celery.beat import PersistentScheduler
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
# Arrow's allocator, chosen before pyarrow is first imported (this module is imported
# first, by portal/__init__.py): with jemalloc a Parquet export peaks some 30 MiB lower
# than with mimalloc, Arrow's default, and no slower (README, "Exports: bench/export").
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)


@worker_init.connect
def metrics_server_start(**kwargs) -> None:
    """With METRICS_PORT set, the worker's main process serves the pool's metrics (once,
    before the pool starts; docs/metrics.md). Without it, a scrape of the web server reads
    them from the shared PROMETHEUS_MULTIPROC_DIR, or nobody does."""
    from django.conf import settings

    if settings.METRICS_PORT:
        from portal.metrics import worker_metrics_server_start

        worker_metrics_server_start(settings.METRICS_PORT)


class HeartbeatScheduler(PersistentScheduler):
    """Celery's file-backed scheduler, which also touches BEAT_HEARTBEAT_FILE after each
    pass of beat's loop.

    Beat passes at least every CELERY_BEAT_MAX_LOOP_INTERVAL seconds, so the file's age
    says whether the loop still runs: Kubernetes' probe reads it with `find`, no Python
    process started (docs/deploy.md, section 8). A file left by an earlier run is removed
    at start, so that it cannot pass for this run's.
    """

    def setup_schedule(self) -> None:
        heartbeat = _heartbeat_file()
        if heartbeat is not None:
            heartbeat.unlink(missing_ok=True)
        super().setup_schedule()

    def tick(self, *args, **kwargs) -> float:
        interval = super().tick(*args, **kwargs)
        heartbeat = _heartbeat_file()
        if heartbeat is not None:
            try:
                heartbeat.touch()
            except OSError as exc:  # the probe will notice; beat itself carries on
                logger.warning("Beat heartbeat %s not written: %s", heartbeat, exc)
        return interval


def _heartbeat_file() -> Path | None:
    from django.conf import settings

    return Path(settings.BEAT_HEARTBEAT_FILE) if settings.BEAT_HEARTBEAT_FILE else None
