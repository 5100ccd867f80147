"""Thin Celery entry points: each loads its arguments and calls a service."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from ingest import services
from portal.metrics import ingest_job_timed


@shared_task
def reports_purge_expired() -> int:
    with ingest_job_timed("purge"):
        return services.reports_purge_expired()


@shared_task
def rollup_recent_days() -> dict[str, int]:
    """Hourly: exact rollups of yesterday, today and stale days; release closed days."""
    today = timezone.now().date()
    with ingest_job_timed("rollup"):
        rolled = services.rollup_range(first=today - timedelta(days=1), last=today)
        stale = services.rollup_stale_days()
    with ingest_job_timed("release"):
        released = services.stats_release_due()
    return {"rolled_up": len(rolled), "stale_rolled_up": len(stale), "released": len(released)}
