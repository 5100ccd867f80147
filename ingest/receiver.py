"""The receiver's WSGI application: POST /collecting without Django's request machinery.

Telemetry reports are nearly all of the portal's traffic, and for each one Django's
handler would build a request object, send the request signals, resolve the URL and
run three middlewares, all to reach one view whose answer depends on four things: the
method, the Content-Type, the declared length and the body. Here a POST to one of the
receiver's exact paths (settings.RECEIVER_PATHS) goes straight to
``ingest.views.receive``, the function the Django view calls too, and gets the headers
the lean middleware stack would have added, computed from the same settings:

- the address is forgotten first, exactly as ForgetClientAddressMiddleware does;
- CORS as django-cors-headers answers these paths (``Vary: origin``, and
  ``access-control-allow-origin: *`` for a request with an Origin);
- SecurityMiddleware's headers (nosniff, Referrer-Policy, Cross-Origin-Opener-Policy,
  HSTS on a secure request), and CommonMiddleware's Content-Length;
- Django's ``django.request`` warning for a 4xx and error for a 5xx, naming the path
  only;
- the thread's database connection is closed when broken or past CONN_MAX_AGE, as
  Django's request_finished signal would.

Everything else goes to the Django handler it wraps (``fallback``), which answers as it
always has: another method (OPTIONS preflights included), a Host that is not one of
ALLOWED_HOSTS (or not yet seen), a plain-HTTP request that SECURE_SSL_REDIRECT sends to
HTTPS, and any CORS or host setting the fast path does not model. tests/ingest/
test_receiver_wsgi.py checks that both give the same status, headers and body.
"""

import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import connections
from django.http import HttpRequest

from ingest.views import receive
from portal.metrics import receiver_answer_record
from portal.middleware import ADDRESS_META_KEYS, UNKNOWN_ADDRESS

logger = logging.getLogger("django.request")
KNOWN_HOSTS_MAX = 32  # distinct valid Host values remembered; others are checked each time
STATUS_LINES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}


def _cors_is_modelled() -> bool:
    """The CORS settings this module answers like django-cors-headers for."""
    from corsheaders.conf import conf

    return (
        conf.CORS_ALLOW_ALL_ORIGINS
        and not conf.CORS_ALLOW_CREDENTIALS
        and not conf.CORS_EXPOSE_HEADERS
        and not conf.CORS_ALLOW_PRIVATE_NETWORK
    )


def _security_headers() -> list[tuple[str, str]]:
    """SecurityMiddleware's headers on every answer, in the order it adds them."""
    headers = []
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        policy = settings.SECURE_REFERRER_POLICY
        if not isinstance(policy, str):
            policy = ",".join(policy)
        headers.append(("Referrer-Policy", policy))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    return headers


def _hsts() -> str | None:
    if not settings.SECURE_HSTS_SECONDS:
        return None
    value = f"max-age={settings.SECURE_HSTS_SECONDS}"
    if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
        value += "; includeSubDomains"
    if settings.SECURE_HSTS_PRELOAD:
        value += "; preload"
    return value


class ReceiverApplication:
    """WSGI application for the receiver's paths; built once, from the settings of then."""

    def __init__(self, fallback: Callable) -> None:
        self.fallback = fallback
        self.fast = (
            _cors_is_modelled()
            and not settings.USE_X_FORWARDED_HOST
            and not settings.PREPEND_WWW
            and not settings.DISALLOWED_USER_AGENTS
        )
        self.proxy_ssl_header = settings.SECURE_PROXY_SSL_HEADER
        self.ssl_redirect = settings.SECURE_SSL_REDIRECT
        self.hsts = _hsts()
        self.security_headers = _security_headers()
        self.known_hosts: set[str] = set()

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        for key in ADDRESS_META_KEYS:  # before anything else can read them
            environ.pop(key, None)
        environ["REMOTE_ADDR"] = UNKNOWN_ADDRESS
        if environ.get("REQUEST_METHOD") != "POST" or not self.fast:
            return self.fallback(environ, start_response)
        secure = self.is_secure(environ)
        if (self.ssl_redirect and not secure) or not self.host_is_allowed(environ):
            return self.fallback(environ, start_response)  # Django redirects, or answers 400
        try:
            answer = receive(
                method="POST",
                content_type=environ.get("CONTENT_TYPE", ""),
                content_length=environ.get("CONTENT_LENGTH"),
                read=self.reader(environ),
            )
            body = answer.body()
        except Exception:  # as Django's handler would: logged, and a 500
            logger.exception("Internal Server Error: %s", environ.get("PATH_INFO"))
            receiver_answer_record(500, "internal_error")
            status, body = 500, b'{"error": "internal_error", "message": "Retry later."}'
            headers = [("Content-Type", "application/json")]
        else:
            status = answer.status
            headers = [("Content-Type", "application/json"), *answer.headers.items()]
        finally:
            self.connection_tidy()
        headers.append(("Content-Length", str(len(body))))
        headers.append(("Vary", "origin"))
        if self.origin_is_allowed(environ.get("HTTP_ORIGIN")):
            headers.append(("access-control-allow-origin", "*"))
        if secure and self.hsts:
            headers.append(("Strict-Transport-Security", self.hsts))
        headers.extend(self.security_headers)
        if status >= 400:
            level = logging.ERROR if status >= 500 else logging.WARNING
            logger.log(
                level,
                "%s: %s",
                HTTPStatus(status).phrase,
                environ.get("PATH_INFO"),
                extra={"status_code": status},
            )
        start_response(STATUS_LINES[status], headers)
        return [body]

    def is_secure(self, environ: dict) -> bool:
        """HttpRequest.scheme == "https", as Django decides it."""
        if self.proxy_ssl_header:
            header, secure_value = self.proxy_ssl_header
            value = environ.get(header)
            if value is not None:
                return value.split(",", 1)[0].strip() == secure_value
        return environ.get("wsgi.url_scheme") == "https"

    def host_is_allowed(self, environ: dict) -> bool:
        """Django's own check (HttpRequest.get_host), remembered per Host value that passes."""
        host = environ.get("HTTP_HOST")
        if host is None:
            return False  # Django builds the host from SERVER_NAME: let it
        if host in self.known_hosts:
            return True
        request = HttpRequest()
        request.META = {"HTTP_HOST": host}
        try:
            request.get_host()
        except DisallowedHost:
            return False
        if len(self.known_hosts) < KNOWN_HOSTS_MAX:
            self.known_hosts.add(host)
        return True

    @staticmethod
    def reader(environ: dict) -> Callable[[int], bytes]:
        """The body as Django's request.read() gives it: at most the declared length."""
        try:
            declared = max(int(environ.get("CONTENT_LENGTH") or 0), 0)
        except ValueError:
            declared = 0
        stream = environ["wsgi.input"]

        def read(size: int) -> bytes:
            return stream.read(min(size, declared)) if declared else b""

        return read

    @staticmethod
    def origin_is_allowed(origin: str | None) -> bool:
        if not origin:
            return False
        try:
            urlsplit(origin)
        except ValueError:
            return False
        return True

    @staticmethod
    def connection_tidy() -> None:
        """What request_finished does for this thread's connection (the policy's reads)."""
        default = connections["default"]
        if default.connection is not None:
            default.close_if_unusable_or_obsolete()
