"""Every write of a grant after its approval: revoking it, and what the audit log keeps.

A grant is created by the approval of its request (services/requests.py); revoking it
stops its tokens at once and deletes its exports' files.
"""

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from access_requests.models import REVIEW_PERMISSION, Grant, RequestEvent
from access_requests.notifications import email_send_on_commit
from access_requests.services.exports import exports_delete_for_grant
from portal.services import audit_event_record


def grant_snapshot(grant: Grant) -> dict:
    """What the audit log keeps of a grant, before and after each change."""
    return {
        "datasets": grant.datasets,
        "elements": grant.elements,
        "period": [grant.period_start.isoformat(), grant.period_end.isoformat()],
        "expires_at": grant.expires_at.isoformat(),
        "revoked_at": grant.revoked_at.isoformat() if grant.revoked_at else None,
    }


def grant_revoke(*, grant: Grant, actor: User, reason: str) -> Grant:
    if not reason.strip():
        raise ValidationError("Revoking access needs a reason; it is sent to the grantee.")
    if not actor.has_perm(REVIEW_PERMISSION):
        raise PermissionDenied("Only maintainers revoke access.")
    with transaction.atomic():
        grant = Grant.objects.select_for_update().get(pk=grant.pk)
        if grant.revoked_at is not None:
            raise ValidationError(f"Grant #{grant.pk} is already revoked.")
        before = grant_snapshot(grant)
        grant.revoked_at = timezone.now()
        grant.revoked_by = actor
        grant.revoke_reason = reason.strip()
        grant.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
        RequestEvent.objects.create(
            request=grant.request,
            kind=RequestEvent.Kind.GRANT_REVOKED,
            actor=actor,
            message=grant.revoke_reason,
        )
        audit_event_record(
            action="grant.revoked",
            actor=actor,
            target=grant,
            before=before,
            after=grant_snapshot(grant),
            details={"reason": grant.revoke_reason},
        )
        email_send_on_commit("revoked", [grant.grantee.email], {"grant": grant, "reason": reason})
        exports_delete_for_grant(grant=grant)
    return grant
