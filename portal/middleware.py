"""Forget the sender's address before any other code can see it.

The review removed clientIP and region from the approved data. The surest way to
never store, log or derive them is for no view, library or error report to have
them at all: this middleware runs first and blanks every address the WSGI server
or a proxy put on the request.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

ADDRESS_META_KEYS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
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
