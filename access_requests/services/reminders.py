"""Reminders that a grant ends soon: 14 and 3 days before ``expires_at``, each sent once.

A reminder is due in its own window, from ``days_before`` days before the end until the
next, shorter reminder is due (the last one until the end), and only when the grant had
more than ``days_before`` days left when it was made. So a grant made with ten days left
gets only the 3-day reminder, and a beat that was down for a week sends the reminder of
the time that is left, never a "14 days" mail two days before the end. The
GrantReminder row, unique per (grant, days_before), is written in the same transaction
as the timeline event, the audit row and the email, so repeated or concurrent runs send
each reminder once.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from access_requests.models import Grant, GrantReminder, RequestEvent
from access_requests.notifications import email_send_on_commit
from portal.services import audit_event_record

REMINDER_DAYS = (14, 3)  # longest first


def reminder_due(*, grant: Grant, now: datetime) -> int | None:
    """The reminder (days before the end) whose window ``now`` is in, if it applies."""
    if grant.revoked_at is not None or grant.expires_at <= now:
        return None
    shorter = [*REMINDER_DAYS[1:], 0]
    for days, next_days in zip(REMINDER_DAYS, shorter, strict=True):
        starts = grant.expires_at - timedelta(days=days)
        window = starts <= now < grant.expires_at - timedelta(days=next_days)
        if window and grant.created_at < starts:
            return days
    return None


def grant_reminder_send(*, grant: Grant, days_before: int, now: datetime) -> bool:
    """Send one reminder unless it was sent; True when this call sent it."""
    with transaction.atomic():
        grant = (
            Grant.objects.select_for_update().select_related("request", "grantee").get(pk=grant.pk)
        )
        if reminder_due(grant=grant, now=now) != days_before:
            return False  # revoked, or another run moved past this window meanwhile
        _, created = GrantReminder.objects.get_or_create(grant=grant, days_before=days_before)
        if not created:
            return False
        ends = f"{grant.expires_at:%Y-%m-%d %H:%M} UTC"
        RequestEvent.objects.create(
            request=grant.request,
            kind=RequestEvent.Kind.REMINDED,
            message=f"Access ends on {ends}; a reminder was emailed {days_before} days before.",
        )
        audit_event_record(
            action="grant.reminded",
            target=grant,
            details={
                "days_before": days_before,
                "expires_at": grant.expires_at.isoformat(),
                "grantee": grant.grantee.get_username(),
            },
        )
        email_send_on_commit(
            "grant_reminder",
            [grant.grantee.email],
            {
                "grant": grant,
                "days_before": days_before,
                "renew_path": reverse("access-grant-renew", args=[grant.pk]),
                "request_path": reverse("access-request-detail", args=[grant.request_id]),
                "tokens": grant.tokens.filter(revoked_at__isnull=True, expires_at__gt=now).count(),
                "exports": grant.exports.filter(state="ready").count(),
            },
        )
    return True


def grant_reminders_send(*, now: datetime | None = None) -> list[tuple[int, int]]:
    """Every reminder due now, as (grant id, days before) of those this run sent."""
    now = now or timezone.now()
    soon = Grant.objects.filter(
        revoked_at__isnull=True,
        expires_at__gt=now,
        expires_at__lte=now + timedelta(days=max(REMINDER_DAYS)),
    ).order_by("expires_at", "pk")
    sent = []
    for grant in soon:
        days = reminder_due(grant=grant, now=now)
        if days is None or grant.reminders.filter(days_before=days).exists():
            continue
        if grant_reminder_send(grant=grant, days_before=days, now=now):
            sent.append((grant.pk, days))
    return sent
