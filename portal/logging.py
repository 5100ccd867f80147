"""Log redaction: client addresses never reach a log line.

The request edge already forgets the sender's address (see middleware), but
servers and libraries also write messages of their own (gunicorn's "Invalid
request from ip=..." for one). This filter is attached to every handler of the
application and of the production server, and rewrites any IPv4 or IPv6 address
in the final message before it is emitted.
"""

import logging
import re

_IPV4 = r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])"
_IPV6_FULL = r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}(?![\w:])"
_IPV6_SHORT = (
    r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)?::"
    r"(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)?(?:%\w+)?(?![\w:])"
)
ADDRESS_PATTERN = re.compile(f"{_IPV4}|{_IPV6_FULL}|{_IPV6_SHORT}")
REDACTED = "[address]"
# An erasure request names the installation in its path; the audit log keeps only
# a keyed digest of it, so request logs must not keep it in clear either.
INSTALLATION_PATH = re.compile(r"(/api/v1/installations/)[^\s\"?]+")


def redact_addresses(text: str) -> str:
    text = INSTALLATION_PATH.sub(r"\1[platformID]", text)
    return ADDRESS_PATTERN.sub(REDACTED, text)


class RedactAddressesFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_addresses(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_addresses(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact_addresses(record.exc_text)
        return True


try:
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # gunicorn is only needed to serve
    _GunicornLogger = object


class GunicornLogger(_GunicornLogger):
    """gunicorn's logger, but with the access log truly off when accesslog is unset.

    With logconfig_dict gunicorn attaches the access handler whatever ``accesslog``
    says; this honours the setting (GUNICORN_ACCESS_LOG=0).
    """

    def access(self, resp, req, environ, request_time):
        if self.cfg.accesslog is None:
            return
        super().access(resp, req, environ, request_time)
