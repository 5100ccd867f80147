"""WSGI entry point: the receiver and health checks get a lean middleware stack.

Telemetry reports are most of the traffic and need none of the page machinery
(sessions, CSRF, authentication, messages, CSP), so their paths are served by a
second Django handler built with LEAN_MIDDLEWARE. A POST to the receiver's paths
(RECEIVER_PATHS) does not even reach that handler: ingest.receiver answers it with
the same view function and the headers that stack would add, and hands everything
else on to the lean handler. The Prometheus endpoint gets a
third, barer still (METRICS_MIDDLEWARE: no host check, no HTTPS redirect), since
Prometheus reaches each process by its own address. The handlers share the URL
configuration, the views and everything else.
"""

import os

from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
full_application = get_wsgi_application()

from django.conf import settings  # noqa: E402 - after Django is set up


class LeanHandler(WSGIHandler):
    middleware_setting = "LEAN_MIDDLEWARE"

    def load_middleware(self, is_async: bool = False) -> None:
        full = settings.MIDDLEWARE
        # only while this handler is built
        settings.MIDDLEWARE = getattr(settings, self.middleware_setting)
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


class MetricsHandler(LeanHandler):
    middleware_setting = "METRICS_MIDDLEWARE"


lean_application = LeanHandler()
metrics_application = MetricsHandler()

from ingest.receiver import ReceiverApplication  # noqa: E402 - needs the apps loaded

receiver_application = ReceiverApplication(fallback=lean_application)
RECEIVER_PATHS = frozenset(settings.RECEIVER_PATHS)
LEAN_PATHS = frozenset(settings.LEAN_PATHS)
METRICS_PATHS = frozenset(settings.METRICS_PATHS)


def application(environ, start_response):
    path = environ.get("PATH_INFO")
    if path in RECEIVER_PATHS:
        return receiver_application(environ, start_response)
    if path in LEAN_PATHS:
        return lean_application(environ, start_response)
    if path in METRICS_PATHS:
        return metrics_application(environ, start_response)
    return full_application(environ, start_response)
