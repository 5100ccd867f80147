from celery import shared_task

from ingest import services


@shared_task
def reports_purge_expired() -> int:
    return services.reports_purge_expired()
