"""Log redaction: client addresses and installation IDs never reach a log line.

The request edge already forgets the sender's address (see middleware), but
servers and libraries also write messages of their own (gunicorn's "Invalid
request from ip=..." for one). This filter is attached to every handler of the
application and of the production server, and rewrites the final message before
it is emitted:

- every IPv4 or IPv6 address, in any of its spellings (compressed, IPv4-mapped
  ``::ffff:198.51.100.77``, with a zone id, in brackets with a port), becomes
  ``[address]``;
- a ``platformID`` is an installation's only credential, so a path naming one
  (erasure, ``/api/v1/installations/<id>``, and the admin's exact lookup,
  ``/admin/ingest/report/?q=<id>``) keeps no ID. A path is read in the form the
  server routes it, whatever form it was sent in: percent-encoded (even twice), in
  any case, with doubled slashes or backslashes; whatever follows the ID (further
  segments, a query string) goes with it.

One kind of line keeps its address: gunicorn's lines about its own sockets ("Listening
at: http://127.0.0.1:8000"). The address there is the server's bind address, from its
configuration, never a client's, and the operator needs it to know where it serves.
"""

import ipaddress
import logging
import re
from urllib.parse import unquote

REDACTED = "[address]"
REDACTED_ID = "[platformID]"

# Candidates only: each is confirmed by the ipaddress module, so times (10:31:39) and
# other colon-separated text stay as they are.
_IPV4 = r"(?:\d{1,3}\.){3}\d{1,3}"
_IPV6 = r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.\d{1,3}){0,3}(?:%[0-9A-Za-z_.~-]+)?"
ADDRESS_CANDIDATE = re.compile(
    rf"\[(?P<bracketed>{_IPV6})\]"
    rf"|(?<![\w.])(?P<ipv6>{_IPV6})(?![\w:])"
    rf"|(?<![\w.])(?P<ipv4>{_IPV4})(?!\w|\.\d)"
)
IPV4_ONLY = re.compile(rf"(?<![\w.]){_IPV4}(?!\w|\.\d)")
IPV4_TAIL = re.compile(rf":({_IPV4})(%[^%]*)?$")

# A token is a run of characters a path can hold in a log line; it is decoded the way
# the server decodes it before routing, then searched.
_TOKEN = re.compile(r"[^\s\"'<>]+")
_ERASURE_PATH = re.compile(r"/installations/(?=.)", re.IGNORECASE | re.DOTALL)
_REPORT_ADMIN = re.compile(r"/admin/ingest/report", re.IGNORECASE)
_LOOKUP_TERM = re.compile(r"(?<=[?&=;])q=[^&#]*", re.IGNORECASE)
_DECODE_ROUNDS = 4
_SLASHES = re.compile(r"(?<!:)[/\\]+")  # a run of slashes is one, as routed; not "://"

# gunicorn's messages (their format strings) whose argument is one of its own listening
# sockets, from the bind setting: see gunicorn/arbiter.py and gunicorn/sock.py.
SERVER_SOCKET_MESSAGES = frozenset(
    {
        "Listening at: %s (%s)",
        "Listening at: %s",
        "Connection in use: %s",
        "Invalid address: %s",
        "Can't connect to %s",
    }
)


def _is_ipv6(candidate: str) -> bool:
    try:
        ipaddress.IPv6Address(candidate)
        return True
    except ValueError:
        pass
    # IPv4-mapped with octets ipaddress refuses (leading zeros): judge the IPv6 part.
    tail = IPV4_TAIL.search(candidate)
    if tail is None:
        return False
    try:
        ipaddress.IPv6Address(f"{candidate[: tail.start()]}:0.0.0.0")
        return True
    except ValueError:
        return False


def _redact_address(match: re.Match) -> str:
    if match.group("ipv4"):
        return REDACTED
    candidate = match.group("bracketed") or match.group("ipv6")
    if _is_ipv6(candidate):
        return REDACTED
    # Not an IPv6 address as a whole; an IPv4 address inside it is still one.
    return IPV4_ONLY.sub(REDACTED, match.group())


def _as_routed(token: str) -> str:
    decoded = token
    for _ in range(_DECODE_ROUNDS):
        step = unquote(decoded)
        if step == decoded:
            break
        decoded = step
    return _SLASHES.sub("/", decoded)


def _redact_installation(match: re.Match) -> str:
    token = match.group()
    if "/" not in token and "%" not in token and "\\" not in token:
        return token
    routed = _as_routed(token)
    erasure = _ERASURE_PATH.search(routed)
    if erasure:
        return routed[: erasure.end()] + REDACTED_ID
    if _REPORT_ADMIN.search(routed) and _LOOKUP_TERM.search(routed):
        return _LOOKUP_TERM.sub(f"q={REDACTED_ID}", routed)
    return token


def redact_installation_ids(text: str) -> str:
    return _TOKEN.sub(_redact_installation, text)


def redact_addresses(text: str) -> str:
    """Both redactions; the name is the filter's since it first redacted addresses only."""
    return ADDRESS_CANDIDATE.sub(_redact_address, redact_installation_ids(text))


def names_own_socket(record: logging.LogRecord) -> bool:
    """A gunicorn line about the server's own listening socket, which is not redacted."""
    return (
        record.name == "gunicorn.error"
        and record.msg in SERVER_SOCKET_MESSAGES
        and record.exc_info is None
    )


class RedactAddressesFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if names_own_socket(record):
            return True
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
