"""Quotas: what one grant or one member may hold at once, each number a setting.

Without them a grantee could queue any number of identical full-period exports, mint
tokens until the per-token rate no longer bounds anything, and a member could file
requests that each email every maintainer. The services call these checks inside their
transaction, after locking the row that owns the quota (the grant, the member), so two
requests at once cannot both take the last place.
"""

from datetime import date

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from access_requests.models import AccessRequest, Export, Grant, ReadToken

CODE = "quota_exceeded"
UNFINISHED = (Export.State.QUEUED, Export.State.RUNNING)


class QuotaExceeded(ValidationError):
    """A refusal that says which limit was reached and what frees a place.

    A ValidationError, so the pages show it as they show any refusal; the data API
    answers it 429 with the error code ``quota_exceeded``.
    """

    def __init__(self, message: str):
        super().__init__(message, code=CODE)


def grant_lock(*, grant: Grant) -> Grant:
    return Grant.objects.select_for_update().get(pk=grant.pk)


def member_lock(*, user: User) -> None:
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()


# --- exports ----------------------------------------------------------------------------


def export_identical(*, grant: Grant, file_format: str, first: date, last: date, now=None):
    """An export the same request would build again: same grant (hence the same fields),
    format and period, and still queued, running, or ready with its file unexpired."""
    now = now or timezone.now()
    return (
        Export.objects.filter(grant=grant, format=file_format, period_start=first, period_end=last)
        .filter(Q(state__in=UNFINISHED) | Q(state=Export.State.READY, expires_at__gt=now))
        .order_by("-created_at", "-pk")
        .first()
    )


def export_quota_check(*, grant: Grant) -> None:
    limit = settings.EXPORT_MAX_QUEUED_PER_GRANT
    count = Export.objects.filter(grant=grant, state__in=UNFINISHED).count()
    if count >= limit:
        raise QuotaExceeded(
            gettext(
                "Grant #%(pk)s already has %(count)s exports queued or running; at most "
                "%(limit)s may wait at once. Ask again when one of them is ready or has failed."
            )
            % {"pk": grant.pk, "count": count, "limit": limit}
        )


# --- read tokens --------------------------------------------------------------------------


def tokens_active(*, grant: Grant, now=None):
    now = now or timezone.now()
    return ReadToken.objects.filter(grant=grant, revoked_at__isnull=True, expires_at__gt=now)


def token_quota_check(*, grant: Grant) -> None:
    limit = settings.TOKEN_MAX_ACTIVE_PER_GRANT
    count = tokens_active(grant=grant).count()
    if count >= limit:
        raise QuotaExceeded(
            gettext(
                "Grant #%(pk)s already has %(count)s active read tokens; at most %(limit)s are "
                "allowed. Revoke one you no longer use, then create the new one."
            )
            % {"pk": grant.pk, "count": count, "limit": limit}
        )


# --- access requests ----------------------------------------------------------------------


def requests_open_count(*, applicant: User) -> int:
    return AccessRequest.objects.filter(
        applicant=applicant, status__in=AccessRequest.PENDING
    ).count()


def request_quota_message(*, applicant: User) -> str | None:
    """Why the member may not file another request now, or None if they may."""
    limit = settings.ACCESS_REQUEST_MAX_OPEN_PER_MEMBER
    count = requests_open_count(applicant=applicant)
    if count < limit:
        return None
    return gettext(
        "You have %(count)s open requests; at most %(limit)s may wait for a decision at "
        "once. Withdraw one, or wait for the maintainers to decide, before filing another."
    ) % {"count": count, "limit": limit}


def request_quota_check(*, applicant: User) -> None:
    message = request_quota_message(applicant=applicant)
    if message:
        raise QuotaExceeded(message)
