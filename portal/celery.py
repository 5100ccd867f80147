import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
# Arrow's allocator, chosen before pyarrow is first imported (this module is imported
# first, by portal/__init__.py): with jemalloc a Parquet export peaks some 30 MiB lower
# than with mimalloc, Arrow's default, and no slower (README, "Exports: bench/export").
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def metrics_server_start(**kwargs) -> None:
    """With METRICS_PORT set, the worker's main process serves the pool's metrics (once,
    before the pool starts; docs/metrics.md). Without it, a scrape of the web server reads
    them from the shared PROMETHEUS_MULTIPROC_DIR, or nobody does."""
    from django.conf import settings

    if settings.METRICS_PORT:
        from portal.metrics import worker_metrics_server_start

        worker_metrics_server_start(settings.METRICS_PORT)
