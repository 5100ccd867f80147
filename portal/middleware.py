"""Forget the sender's address before any other code can see it.

The review removed clientIP and region from the approved data. The surest way to
never store, log or derive them is for no view, library or error report to have
them at all: this middleware runs first and blanks every address the WSGI server
or a proxy put on the request.

DatabaseUnavailableMiddleware turns a lost database connection into a 503 with
Retry-After (pages and API), where it would otherwise be a 500.

LocaleMiddleware picks the page's language, and keeps the data API in English.
"""

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.shortcuts import render
from django.utils import translation

logger = logging.getLogger(__name__)

ADDRESS_META_KEYS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
    # ingress-nginx passes the X-Forwarded-For the client sent on under this name.
    "HTTP_X_ORIGINAL_FORWARDED_FOR",
    # Envoy-based gateways (Istio, Contour, Envoy Gateway) name the client here.
    "HTTP_X_ENVOY_EXTERNAL_ADDRESS",
    "HTTP_TRUE_CLIENT_IP",
    "HTTP_CF_CONNECTING_IP",
    "HTTP_X_CLIENT_IP",
    "HTTP_X_CLUSTER_CLIENT_IP",
    "HTTP_CLIENT_IP",
    "REMOTE_HOST",
)
UNKNOWN_ADDRESS = "0.0.0.0"  # noqa: S104 - a placeholder value, not a bind address  # nosec B104


class ForgetClientAddressMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        for key in ADDRESS_META_KEYS:
            meta.pop(key, None)
        meta["REMOTE_ADDR"] = UNKNOWN_ADDRESS
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """While the database cannot be reached, answer 503 with Retry-After instead of 500.

    A restarted or failed-over PostgreSQL breaks each pooled connection once; the request
    that finds it broken is told to retry (the connection is replaced for the next one).
    API paths get the API's JSON error shape, pages a short page. The receiver answers
    its own 503 (ingest/views.py) and never reaches this.
    """

    RETRY_AFTER_SECONDS = "30"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning("Request not served: the database is unavailable.")
        response: HttpResponse
        if request.path.startswith("/api/"):
            response = JsonResponse(
                {"error": "database_unavailable", "message": "Retry in a moment."}, status=503
            )
        else:
            # Standalone: the site's layout reads the session and user, i.e. the database.
            response = render(request, "503.html", status=503)
        response["Retry-After"] = self.RETRY_AFTER_SECONDS
        return response


# The machine documents stay English whatever the browser or the language cookie says:
# the data API (its errors included), the OpenAPI schema and its viewer.
ENGLISH_ONLY_PATHS = ("/api/",)


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Django's LocaleMiddleware (the language cookie, then Accept-Language), except on
    ENGLISH_ONLY_PATHS, which are always in the site's default language."""

    def process_request(self, request: HttpRequest) -> None:
        if request.path_info.startswith(ENGLISH_ONLY_PATHS):
            translation.activate(settings.LANGUAGE_CODE)
            request.LANGUAGE_CODE = settings.LANGUAGE_CODE
            return
        super().process_request(request)
