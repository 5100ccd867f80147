"""The public receiver: VelaUX's POST /collecting and its twin POST /api/v1/reports.

A plain Django view rather than DRF: it is the hot path, and every branch answers
with a JSON error naming the problem. CORS for these two paths comes from
django-cors-headers (see CORS_URLS_REGEX); no other path gets CORS headers.
"""

import logging

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


def error(status: int, code: str, message: str, **headers: str) -> JsonResponse:
    receiver_answer_record(status, code)
    response = JsonResponse({"error": code, "message": message}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


@csrf_exempt
def collect_report(request: HttpRequest) -> JsonResponse:
    if request.method == "OPTIONS":
        response = JsonResponse({}, status=200)
        response["Allow"] = ALLOWED_METHODS
        receiver_answer_record(200, "options")
        return response
    if request.method != "POST":
        return error(
            405,
            "method_not_allowed",
            f"Use POST; {request.method} is not accepted.",
            Allow=ALLOWED_METHODS,
        )
    try:
        document = decode_body(read_body(request))
        return accept(document)
    except ReportRejected as rejected:
        receiver_answer_record(rejected.status, rejected.code)
        return JsonResponse(rejected.as_json(), status=rejected.status)


def read_body(request: HttpRequest) -> bytes:
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type not in JSON_TYPES:
        raise ReportRejected(
            415,
            "unsupported_media_type",
            f"Content-Type must be application/json, not {content_type or 'missing'}.",
        )
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise ReportRejected(400, "bad_content_length", "Content-Length is not a number.") from exc
    too_large = ReportRejected(
        413, "payload_too_large", f"The body is over {MAX_BODY_BYTES} bytes."
    )
    if declared > MAX_BODY_BYTES:
        raise too_large  # refused before reading a byte of it
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise too_large
    return body


def accept(document: dict) -> JsonResponse:
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
        return JsonResponse(
            {
                "status": "not_stored",
                "reason": "daily_limit_reached",
                "message": "This installation has sent today's maximum number of reports; "
                "the report already stored for today stands.",
                "report_date": limit.report_date.isoformat(),
                "policy_version": policy.number,
            },
            status=200,
        )
    except (OperationalError, InterfaceError):
        return storage_unavailable()
    receiver_answer_record(202, "replaced" if outcome.replaced else "new")
    return JsonResponse(
        {
            "status": "accepted",
            "report": "replaced" if outcome.replaced else "new",
            "report_date": outcome.report_date.isoformat(),
            "policy_version": policy.number,
            "discarded_fields": report.discarded_fields,
        },
        status=202,
    )


def storage_unavailable() -> JsonResponse:
    logger.warning("Report not stored: the database is unavailable.")
    return error(
        503,
        "storage_unavailable",
        "The report could not be stored; retry later.",
        Retry_After="30",
    )
