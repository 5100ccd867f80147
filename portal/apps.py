import logging

from django.apps import AppConfig
from django.conf import settings
from django.contrib.admin import apps as admin_apps

logger = logging.getLogger("portal")


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from portal import auth, checks  # noqa: F401 - sign-in signals, system checks
        from portal.admin import admin_secret_lookups_refuse

        # The admin app comes first in INSTALLED_APPS: every ModelAdmin is registered now.
        admin_secret_lookups_refuse()

        if not settings.REDIS_URL:
            logger.warning(
                "REDIS_URL is not set: Celery tasks run in-process and the cache is "
                "per-process. This embedded default is for development only."
            )


class PortalAdminConfig(admin_apps.AdminConfig):
    """The admin, on a site that signs staff in through allauth (portal/admin_site.py)."""

    default = False  # "portal" itself is PortalConfig; INSTALLED_APPS names this one
    default_site = "portal.admin_site.PortalAdminSite"

    def ready(self) -> None:
        super().ready()  # autodiscovers every app's admin module, allauth.mfa's too
        from portal.admin_site import authenticator_admin_replace

        authenticator_admin_replace()
