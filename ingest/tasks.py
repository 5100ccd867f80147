"""Thin Celery entry points: each loads its arguments and calls a service."""

from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from ingest import services


@shared_task
def reports_purge_expired() -> int:
    return services.reports_purge_expired()


@shared_task
def rollup_recent_days() -> int:
    """Hourly: roll up yesterday (final) and today (so far)."""
    today = timezone.now().date()
    return len(services.rollup_range(first=today - timedelta(days=1), last=today))


@shared_task
def rollup_days(days: list[str]) -> int:
    for day in days:
        services.rollup_day(day=date.fromisoformat(day))
    return len(days)
