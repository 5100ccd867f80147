"""WSGI entry point: the receiver and health checks get a lean middleware stack.

Telemetry reports are most of the traffic and need none of the page machinery
(sessions, CSRF, authentication, messages, CSP), so their paths are served by a
second Django handler built with LEAN_MIDDLEWARE. Both handlers share the URL
configuration, the views and everything else.
"""

import os

from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
full_application = get_wsgi_application()

from django.conf import settings  # noqa: E402 - after Django is set up


class LeanHandler(WSGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.LEAN_MIDDLEWARE  # only while this handler is built
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


lean_application = LeanHandler()
LEAN_PATHS = frozenset(settings.LEAN_PATHS)


def application(environ, start_response):
    handler = lean_application if environ.get("PATH_INFO") in LEAN_PATHS else full_application
    return handler(environ, start_response)
