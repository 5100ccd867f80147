from celery import shared_task

from access_requests import services


@shared_task
def review_digest_send() -> list[int]:
    return services.review_digest_send()
