"""Every write of an access request: the profile, filing, the review and its decision.

Each transition of a request goes through ``_transition``, which refuses moves
the state machine does not allow and writes the timeline event and the audit
row in the same transaction. Emails are sent once the transaction commits.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy

from access_requests import quotas
from access_requests.models import (
    REVIEW_PERMISSION,
    AccessRequest,
    Dataset,
    DataUseTerms,
    Grant,
    Profile,
    RequestEvent,
)
from access_requests.notifications import email_send_on_commit, maintainer_emails
from access_requests.selectors import (
    access_requests_overdue,
    grant_renewal_pending,
    grant_renewal_refusal,
)
from access_requests.services.grants import grant_snapshot
from ingest.models import PolicyElement
from ingest.selectors import policy_get_published
from portal.services import audit_event_record

Status = AccessRequest.Status
MAX_DURATION_DAYS = 365
MIN_JUSTIFICATION_CHARS = 200


@dataclass(frozen=True)
class Transition:
    allowed_from: tuple[str, ...]
    to: str
    by_reviewer: bool


TRANSITIONS = {
    "ask_info": Transition((Status.SUBMITTED, Status.ANSWERED), Status.INFO_REQUESTED, True),
    "answer": Transition((Status.INFO_REQUESTED,), Status.ANSWERED, False),
    "approve": Transition(AccessRequest.PENDING, Status.APPROVED, True),
    "reject": Transition(AccessRequest.PENDING, Status.REJECTED, True),
    "withdraw": Transition(AccessRequest.PENDING, Status.WITHDRAWN, False),
}
PAST_TENSE = {
    "ask_info": pgettext_lazy("it cannot be ... now", "asked for more information"),
    "answer": pgettext_lazy("it cannot be ... now", "answered"),
    "approve": pgettext_lazy("it cannot be ... now", "approved"),
    "reject": pgettext_lazy("it cannot be ... now", "rejected"),
    "withdraw": pgettext_lazy("it cannot be ... now", "withdrawn"),
}


# --- profile ------------------------------------------------------------------------------


def profile_update(*, user: User, display_name: str, affiliation: str) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    profile.display_name = display_name.strip()
    profile.affiliation = affiliation.strip()
    profile.save()
    return profile


# --- applying -----------------------------------------------------------------------------


def terms_current() -> DataUseTerms | None:
    """The terms an applicant accepts now; a migration seeds version 1."""
    return DataUseTerms.objects.order_by("-version").first()


class EmailNotVerified(ValidationError):
    """Decisions and questions reach the applicant by email: the address must be verified."""


def applicant_email_verified_check(*, applicant: User) -> None:
    if not EmailAddress.objects.filter(user=applicant, verified=True).exists():
        raise EmailNotVerified(gettext("Verify your email address before filing a request."))


def access_request_submit(
    *,
    applicant: User,
    purpose: str,
    justification: str,
    intended_use: str,
    publication_plans: str,
    affiliation: str,
    datasets: list[str],
    elements: list[str],
    period_start: date,
    period_end: date,
    duration_days: int,
    terms: DataUseTerms,
    renewal_of: Grant | None = None,
) -> AccessRequest:
    """File a request; with ``renewal_of``, one that asks to renew that grant of the
    applicant's, which the original request's timeline then records."""
    applicant_email_verified_check(applicant=applicant)
    policy = _policy_published()
    _validate_scope(policy, datasets, elements, period_start, period_end, duration_days)
    _validate_justification(justification)
    with transaction.atomic():
        quotas.member_lock(user=applicant)
        quotas.request_quota_check(applicant=applicant)
        if renewal_of is not None:
            renewal_of = _renewable_grant_lock(grant=renewal_of, applicant=applicant)
        request = AccessRequest.objects.create(
            applicant=applicant,
            purpose=purpose.strip(),
            justification=justification.strip(),
            intended_use=intended_use.strip(),
            publication_plans=publication_plans.strip(),
            affiliation=affiliation.strip(),
            datasets=sorted(datasets),
            elements=sorted(elements),
            period_start=period_start,
            period_end=period_end,
            duration_days=duration_days,
            terms=terms,
            policy_version=policy,
            renewal_of=renewal_of,
        )
        RequestEvent.objects.create(
            request=request, kind=RequestEvent.Kind.SUBMITTED, actor=applicant
        )
        audit_event_record(
            action="access_request.submitted",
            actor=applicant,
            target=request,
            before=None,
            after=_snapshot(request),
            details={"renewal_of_grant": renewal_of.pk} if renewal_of else {},
        )
        if renewal_of is not None:
            _renewal_record(original=renewal_of.request, renewal=request, applicant=applicant)
        email_send_on_commit("submitted", [applicant.email], {"request": request})
        email_send_on_commit("new_request", maintainer_emails(), {"request": request})
    return request


def _policy_published():
    policy = policy_get_published()
    # A migration publishes policy v1, and publishing a version supersedes the one before,
    # so one is always published.
    assert policy is not None, "no published policy"
    return policy


def _validate_justification(justification: str) -> None:
    if len(justification.strip()) < MIN_JUSTIFICATION_CHARS:
        raise ValidationError(
            gettext("The justification must be at least %(chars)s characters.")
            % {"chars": MIN_JUSTIFICATION_CHARS}
        )


def _renewable_grant_lock(*, grant: Grant, applicant: User) -> Grant:
    """The grant, locked, if the applicant may ask to renew it; else a clear refusal."""
    grant = Grant.objects.select_for_update().select_related("request").get(pk=grant.pk)
    if grant.grantee_id != applicant.pk:
        raise PermissionDenied(gettext("Only the grantee can ask to renew a grant."))
    refusal = grant_renewal_refusal(grant=grant)
    if refusal:
        raise ValidationError(refusal)
    pending = grant_renewal_pending(grant=grant)
    if pending is not None:
        raise ValidationError(
            gettext(
                "Grant #%(pk)s already has a renewal waiting for a decision: request "
                "#%(renewal)s. Edit that one instead of filing another."
            )
            % {"pk": grant.pk, "renewal": pending.pk}
        )
    return grant


def _renewal_record(*, original: AccessRequest, renewal: AccessRequest, applicant: User) -> None:
    message = f"Renewal requested as request #{renewal.pk}."
    RequestEvent.objects.create(
        request=original, kind=RequestEvent.Kind.RENEWAL_REQUESTED, actor=applicant, message=message
    )
    audit_event_record(
        action="access_request.renewal_requested",
        actor=applicant,
        target=original,
        details={"renewal": renewal.pk, "grant": original.grant.pk},
    )


# The fields an applicant may change while the request is pending, in the form's order.
EDITABLE_FIELDS = (
    "purpose",
    "justification",
    "intended_use",
    "publication_plans",
    "affiliation",
    "datasets",
    "elements",
    "period_start",
    "period_end",
    "duration_days",
)


def access_request_edit(
    *,
    request: AccessRequest,
    applicant: User,
    purpose: str,
    justification: str,
    intended_use: str,
    publication_plans: str,
    affiliation: str,
    datasets: list[str],
    elements: list[str],
    period_start: date,
    period_end: date,
    duration_days: int,
) -> AccessRequest:
    """Change what a pending request asks for; the timeline says which fields changed,
    and the maintainers are told, as for an answer. Validated as filing is."""
    _validate_scope(
        _policy_published(), datasets, elements, period_start, period_end, duration_days
    )
    _validate_justification(justification)
    wanted = {
        "purpose": purpose.strip(),
        "justification": justification.strip(),
        "intended_use": intended_use.strip(),
        "publication_plans": publication_plans.strip(),
        "affiliation": affiliation.strip(),
        "datasets": sorted(datasets),
        "elements": sorted(elements),
        "period_start": period_start,
        "period_end": period_end,
        "duration_days": duration_days,
    }
    with transaction.atomic():
        request = AccessRequest.objects.select_for_update().get(pk=request.pk)
        if applicant.pk != request.applicant_id:
            raise PermissionDenied(gettext("Only the applicant can do this."))
        if not request.is_pending:
            raise ValidationError(
                gettext(
                    "Request #%(pk)s is %(status)s; only a request waiting for a decision can "
                    "be edited."
                )
                % {"pk": request.pk, "status": request.get_status_display().lower()}
            )
        changed = [name for name in EDITABLE_FIELDS if getattr(request, name) != wanted[name]]
        if not changed:
            raise ValidationError(gettext("Nothing was changed."))
        before = _edit_snapshot(request, changed)
        for name in changed:
            setattr(request, name, wanted[name])
        request.save(update_fields=changed)
        message = "Changed: " + ", ".join(_field_label(name) for name in changed) + "."
        RequestEvent.objects.create(
            request=request, kind=RequestEvent.Kind.EDITED, actor=applicant, message=message
        )
        audit_event_record(
            action="access_request.edited",
            actor=applicant,
            target=request,
            before=before,
            after=_edit_snapshot(request, changed),
            details={"changed": changed},
        )
        email_send_on_commit(
            "edited", maintainer_emails(), {"request": request, "message": message}
        )
    return request


def _field_label(name: str) -> str:
    return {"period_start": "data from", "period_end": "data to"}.get(name, name.replace("_", " "))


def _edit_snapshot(request: AccessRequest, fields: list[str]) -> dict:
    values = {name: getattr(request, name) for name in fields}
    return {
        name: value.isoformat() if isinstance(value, date) else value
        for name, value in values.items()
    }


def _validate_scope(policy, datasets, elements, period_start, period_end, duration_days):
    approved_elements = policy.elements.filter(decision=PolicyElement.Decision.APPROVED)
    approved = set(approved_elements.values_list("key", flat=True))
    unknown = sorted(set(elements) - approved)
    if unknown:
        raise ValidationError(
            gettext("Not in the published policy: %(keys)s.") % {"keys": ", ".join(unknown)}
        )
    if not elements:
        raise ValidationError(gettext("Choose at least one data element."))
    if not datasets or set(datasets) - set(Dataset.values):
        raise ValidationError(gettext("Choose daily reports, daily rollups, or both."))
    if period_start > period_end:
        raise ValidationError(gettext("The period must start before it ends."))
    if not 1 <= duration_days <= MAX_DURATION_DAYS:
        raise ValidationError(
            gettext("Access can last 1 to %(days)s days.") % {"days": MAX_DURATION_DAYS}
        )


def _snapshot(request: AccessRequest) -> dict:
    return {
        "status": request.status,
        "datasets": request.datasets,
        "elements": request.elements,
        "period": [request.period_start.isoformat(), request.period_end.isoformat()],
        "duration_days": request.duration_days,
    }


# --- the one transition service ---------------------------------------------------------


def access_request_review_refusal(*, access_request: AccessRequest, reviewer: User) -> str | None:
    """Why ``reviewer`` may not review this request, or None if they may: maintainers
    review, and never their own request. The admin asks before offering the decisions."""
    if not reviewer.has_perm(REVIEW_PERMISSION):
        return "Only maintainers review access requests."
    if reviewer.pk == access_request.applicant_id:
        return "Nobody reviews their own request."
    return None


def _transition(
    *, request: AccessRequest, action: str, actor: User, message: str = ""
) -> AccessRequest:
    """Move a request along the state machine, or refuse with a clear message."""
    rule = TRANSITIONS[action]
    request = AccessRequest.objects.select_for_update().get(pk=request.pk)
    if request.status not in rule.allowed_from:
        raise ValidationError(
            gettext("Request #%(pk)s is %(status)s; it cannot be %(action)s now.")
            % {
                "pk": request.pk,
                "status": request.get_status_display().lower(),
                "action": PAST_TENSE[action],
            }
        )
    if rule.by_reviewer:
        refusal = access_request_review_refusal(access_request=request, reviewer=actor)
        if refusal:
            raise PermissionDenied(refusal)
    elif actor.pk != request.applicant_id:
        raise PermissionDenied(gettext("Only the applicant can do this."))
    before = _snapshot(request)
    request.status = rule.to
    if rule.to in (Status.APPROVED, Status.REJECTED, Status.WITHDRAWN):
        request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_at"])
    RequestEvent.objects.create(request=request, kind=rule.to, actor=actor, message=message)
    audit_event_record(
        action=f"access_request.{rule.to}",
        actor=actor,
        target=request,
        before=before,
        after=_snapshot(request),
        details={"message": message} if message else {},
    )
    return request


def access_request_ask_info(
    *, request: AccessRequest, reviewer: User, message: str
) -> AccessRequest:
    if not message.strip():
        raise ValidationError("Say what information is needed.")
    with transaction.atomic():
        request = _transition(
            request=request, action="ask_info", actor=reviewer, message=message.strip()
        )
        email_send_on_commit(
            "info_requested", [request.applicant.email], {"request": request, "message": message}
        )
    return request


def access_request_answer(
    *, request: AccessRequest, applicant: User, message: str
) -> AccessRequest:
    if not message.strip():
        raise ValidationError(gettext("Write your answer."))
    with transaction.atomic():
        request = _transition(
            request=request, action="answer", actor=applicant, message=message.strip()
        )
        email_send_on_commit(
            "answered", maintainer_emails(), {"request": request, "message": message}
        )
    return request


def access_request_withdraw(*, request: AccessRequest, applicant: User) -> AccessRequest:
    with transaction.atomic():
        request = _transition(request=request, action="withdraw", actor=applicant)
        email_send_on_commit("withdrawn", [request.applicant.email], {"request": request})
    return request


def access_request_reject(*, request: AccessRequest, reviewer: User, reason: str) -> AccessRequest:
    if not reason.strip():
        raise ValidationError("A rejection needs a reason; it is sent to the applicant.")
    with transaction.atomic():
        request = _transition(
            request=request, action="reject", actor=reviewer, message=reason.strip()
        )
        email_send_on_commit(
            "rejected", [request.applicant.email], {"request": request, "reason": reason}
        )
    return request


def access_request_approve(
    *,
    request: AccessRequest,
    reviewer: User,
    elements: list[str] | None = None,
    datasets: list[str] | None = None,
    period_start: date | None = None,
    period_end: date | None = None,
    duration_days: int | None = None,
    message: str = "",
) -> Grant:
    """Approve, possibly narrowing what was asked; creates the grant."""
    elements = sorted(elements if elements is not None else request.elements)
    datasets = sorted(datasets if datasets is not None else request.datasets)
    period_start = period_start or request.period_start
    period_end = period_end or request.period_end
    duration_days = duration_days or request.duration_days
    _refuse_widening(request, elements, datasets, period_start, period_end, duration_days)
    with transaction.atomic():
        request = _transition(request=request, action="approve", actor=reviewer, message=message)
        grant = Grant.objects.create(
            request=request,
            grantee=request.applicant,
            datasets=datasets,
            elements=elements,
            period_start=period_start,
            period_end=period_end,
            expires_at=timezone.now() + timedelta(days=duration_days),
            created_by=reviewer,
        )
        audit_event_record(
            action="grant.created",
            actor=reviewer,
            target=grant,
            before=None,
            after=grant_snapshot(grant),
        )
        email_send_on_commit(
            "approved", [request.applicant.email], {"request": request, "grant": grant}
        )
    return grant


def _refuse_widening(request, elements, datasets, period_start, period_end, duration_days):
    if not elements or set(elements) - set(request.elements):
        raise ValidationError("A grant may only narrow the elements asked for.")
    if not datasets or set(datasets) - set(request.datasets):
        raise ValidationError("A grant may only narrow the data asked for.")
    if period_start < request.period_start or period_end > request.period_end:
        raise ValidationError("A grant may only narrow the period asked for.")
    if period_start > period_end:
        raise ValidationError("The period must start before it ends.")
    if not 1 <= duration_days <= request.duration_days:
        raise ValidationError(f"The duration must be 1 to {request.duration_days} days.")


def review_digest_send(*, now=None) -> list[int]:
    """The daily email to maintainers listing requests pending past the review SLA."""
    overdue = list(access_requests_overdue(now=now))
    if overdue:
        with transaction.atomic():
            email_send_on_commit(
                "digest",
                maintainer_emails(),
                {"requests": overdue, "sla_days": settings.ACCESS_REVIEW_SLA_DAYS},
            )
    return [request.pk for request in overdue]
