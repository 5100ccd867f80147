"""Thin Celery entry points: each takes ids, and the service does the work."""

from celery import shared_task

from access_requests import services


@shared_task
def review_digest_send() -> list[int]:
    return services.review_digest_send()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def export_build(export_id: int) -> None:
    services.export_build(export_id=export_id)


@shared_task
def exports_sweep() -> list[int]:
    return services.exports_sweep()


@shared_task
def exports_expire_due() -> int:
    return services.exports_expire_due()


@shared_task
def grant_reminders_send() -> list[tuple[int, int]]:
    return services.grant_reminders_send()
