from django.apps import AppConfig


class AccessRequestsConfig(AppConfig):
    name = "access_requests"
    verbose_name = "Access process"

    def ready(self) -> None:
        from access_requests import languages  # noqa: F401 - the sign-up language signal
