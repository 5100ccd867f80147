from django.apps import AppConfig


class AccessRequestsConfig(AppConfig):
    name = "access_requests"
    verbose_name = "Access process"

    def ready(self) -> None:
        from access_requests import languages  # noqa: F401 - the sign-up language signal
        from access_requests.selectors import queue_figures
        from portal.metrics import queue_figures_reader_set

        # The metrics endpoint (portal) reads the review and export queues through this.
        queue_figures_reader_set(queue_figures)
