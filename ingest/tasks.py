"""Thin Celery entry points: each loads its arguments and calls a service."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from ingest import services


@shared_task
def reports_purge_expired() -> int:
    return services.reports_purge_expired()


@shared_task
def rollup_recent_days() -> dict[str, int]:
    """Hourly: exact rollups of yesterday, today and stale days; release closed days."""
    today = timezone.now().date()
    rolled = services.rollup_range(first=today - timedelta(days=1), last=today)
    stale = services.rollup_stale_days()
    released = services.stats_release_due()
    return {"rolled_up": len(rolled), "stale_rolled_up": len(stale), "released": len(released)}
