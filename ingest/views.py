"""The public receiver: VelaUX's POST /collecting and its twin POST /api/v1/reports.

``receive`` decides every answer, from the method, the Content-Type, the declared
length and the body, and returns it as an ``Answer`` (status, JSON document, extra
headers). Two front ends serve it:

- ``collect_report``, a plain Django view (not DRF: every branch answers with a JSON
  error naming the problem), for the test client, the development server and any
  request the fast path hands on; CORS for these two paths comes from
  django-cors-headers (see CORS_URLS_REGEX);
- ``ingest.receiver``, the WSGI application production serves these two exact paths
  with: POSTs skip Django's handler, and get the same bytes and headers.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from ingest import ratelimit
from ingest.parsing import MAX_BODY_BYTES, ReportRejected, decode_body, parse_report
from ingest.selectors import policy_get_enforced
from ingest.services import DailyLimitReached, report_ingest
from portal.metrics import receiver_answer_record

logger = logging.getLogger(__name__)
ALLOWED_METHODS = "POST, OPTIONS"
JSON_TYPES = ("application/json",)


@dataclass(frozen=True)
class Answer:
    status: int
    document: dict
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> bytes:
        """The document as JsonResponse writes it (json.dumps' defaults, ASCII)."""
        return json.dumps(self.document).encode()


def error(status: int, code: str, message: str, **headers: str) -> Answer:
    receiver_answer_record(status, code)
    return Answer(
        status,
        {"error": code, "message": message},
        {name.replace("_", "-"): value for name, value in headers.items()},
    )


@csrf_exempt
def collect_report(request: HttpRequest) -> JsonResponse:
    answer = receive(
        method=request.method or "",
        content_type=request.META.get("CONTENT_TYPE", ""),
        content_length=request.META.get("CONTENT_LENGTH"),
        read=request.read,
    )
    response = JsonResponse(answer.document, status=answer.status)
    for name, value in answer.headers.items():
        response[name] = value
    return response


def receive(
    *, method: str, content_type: str, content_length: str | None, read: Callable[[int], bytes]
) -> Answer:
    """The receiver's answer to one request; the report is committed before a 202."""
    if method == "OPTIONS":
        receiver_answer_record(200, "options")
        return Answer(200, {}, {"Allow": ALLOWED_METHODS})
    if method != "POST":
        return error(
            405,
            "method_not_allowed",
            f"Use POST; {method} is not accepted.",
            Allow=ALLOWED_METHODS,
        )
    try:
        document = decode_body(read_body(content_type, content_length, read))
        return accept(document)
    except ReportRejected as rejected:
        receiver_answer_record(rejected.status, rejected.code)
        return Answer(rejected.status, rejected.as_json())


def read_body(content_type: str, content_length: str | None, read: Callable[[int], bytes]) -> bytes:
    content_type = content_type.split(";")[0].strip().lower()
    if content_type not in JSON_TYPES:
        raise ReportRejected(
            415,
            "unsupported_media_type",
            f"Content-Type must be application/json, not {content_type or 'missing'}.",
        )
    try:
        declared = int(content_length or 0)
    except ValueError as exc:
        raise ReportRejected(400, "bad_content_length", "Content-Length is not a number.") from exc
    too_large = ReportRejected(
        413, "payload_too_large", f"The body is over {MAX_BODY_BYTES} bytes."
    )
    if declared > MAX_BODY_BYTES:
        raise too_large  # refused before reading a byte of it
    body = read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise too_large
    return body


def accept(document: dict) -> Answer:
    try:
        policy = policy_get_enforced()  # a database read whenever the per-process copy expires
    except (OperationalError, InterfaceError):
        return storage_unavailable()
    if policy is None:
        return error(503, "no_published_policy", "No data policy is published.", Retry_After="60")
    report = parse_report(document, policy.approved)
    wait = ratelimit.global_ceiling_hit()
    if wait is not None:
        return error(
            429,
            "rate_limited",
            "The receiver is at its global ceiling; retry later.",
            Retry_After=str(wait),
        )
    try:
        outcome = report_ingest(report=report, policy=policy)
    except DailyLimitReached as limit:
        # A retry cannot help, and VelaUX re-sends on every page load after anything but a
        # 2xx: so a 2xx that says the report was not stored, and that the day's stands.
        receiver_answer_record(200, "daily_limit_reached")
        return Answer(
            200,
            {
                "status": "not_stored",
                "reason": "daily_limit_reached",
                "message": "This installation has sent today's maximum number of reports; "
                "the report already stored for today stands.",
                "report_date": limit.report_date.isoformat(),
                "policy_version": policy.number,
            },
        )
    except (OperationalError, InterfaceError):
        return storage_unavailable()
    receiver_answer_record(202, "replaced" if outcome.replaced else "new")
    return Answer(
        202,
        {
            "status": "accepted",
            "report": "replaced" if outcome.replaced else "new",
            "report_date": outcome.report_date.isoformat(),
            "policy_version": policy.number,
            "discarded_fields": report.discarded_fields,
        },
    )


def storage_unavailable() -> Answer:
    logger.warning("Report not stored: the database is unavailable.")
    return error(
        503,
        "storage_unavailable",
        "The report could not be stored; retry later.",
        Retry_After="30",
    )
