import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger("portal")


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from portal import checks  # noqa: F401 - registers the system checks

        if not settings.REDIS_URL:
            logger.warning(
                "REDIS_URL is not set: Celery tasks run in-process and the cache is "
                "per-process. This embedded default is for development only."
            )
