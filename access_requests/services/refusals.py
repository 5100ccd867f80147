"""Refused data reads, audited without letting a flood grow the audit log.

A refusal (no token, a malformed, unknown, revoked or expired one, a read outside the
grant, someone else's export) is recorded as ``data.read_refused`` with its reason, the
endpoint and, where known, the token (its id and display prefix, never the secret) or the
signed-in account. Anyone can send refused requests as fast as they like, so the rows
are coalesced: at most one per reason and credential per ``REFUSAL_WINDOW_SECONDS``.
Requests with no known credential (no token, a malformed or unknown one) share one
credential, "anonymous", so a flood of them writes at most one row per reason a minute.
The window is read from the audit log itself (an indexed look at its last minute), so
it holds across processes and needs no cache; two refusals racing in the same instant
may both be written, which still bounds the rows by the server's concurrency.
"""

from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from access_requests.models import ReadToken
from portal.models import AuditEvent
from portal.services import audit_event_record

ACTION = "data.read_refused"
REFUSAL_WINDOW_SECONDS = 60
ANONYMOUS = "anonymous"
ENDPOINT_LENGTH = 200
PARAMETERS_KEPT = 10
PARAMETER_LENGTH = 100


def _storable(text: str, length: int) -> str:
    """PostgreSQL's jsonb refuses NUL; and a refusal's text is the sender's, so bounded."""
    return text[:length].replace("\x00", "\ufffd")


def _already_recorded(*, reason: str, token: ReadToken | None, user) -> bool:
    recent = AuditEvent.objects.filter(
        action=ACTION,
        occurred_at__gte=timezone.now() - timedelta(seconds=REFUSAL_WINDOW_SECONDS),
        details__reason=reason,
    )
    if token is not None:
        recent = recent.filter(target_type="access_requests.readtoken", target_id=str(token.pk))
    elif user is not None:
        recent = recent.filter(actor=user, target_type="")
    else:
        recent = recent.filter(actor__isnull=True, actor_label=ANONYMOUS)
    return recent.exists()


def data_read_refused_record(
    *,
    reason: str,
    status: int,
    endpoint: str,
    parameters: dict[str, str] | None = None,
    token: ReadToken | None = None,
    user: User | None = None,
    export_id: int | None = None,
) -> bool:
    """Audit one refused read unless its kind was recorded in the last window.

    ``token`` is a token the request presented and the portal knows (revoked, expired,
    outside its grant); ``user`` a signed-in account. Returns whether a row was written.
    """
    if user is not None and not user.is_authenticated:
        user = None
    if token is not None:
        user = token.user
    with transaction.atomic():
        if _already_recorded(reason=reason, token=token, user=user):
            return False
        audit_event_record(
            action=ACTION,
            actor=user,
            actor_label=None if user is not None else ANONYMOUS,
            target=token,
            details={
                "reason": reason,
                "status": status,
                "endpoint": _storable(endpoint, ENDPOINT_LENGTH),
                "parameters": {
                    _storable(key, PARAMETER_LENGTH): _storable(value, PARAMETER_LENGTH)
                    for key, value in list((parameters or {}).items())[:PARAMETERS_KEPT]
                },
                "token": token.prefix if token is not None else None,
                "grant": token.grant_id if token is not None else None,
                "export": export_id,
                "window_seconds": REFUSAL_WINDOW_SECONDS,
            },
        )
    return True
