from datetime import date, timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from access_requests import services
from access_requests.forms import ApproveForm
from access_requests.models import AccessRequest, Grant, RequestEvent
from portal.models import AuditEvent
from tests.access_requests.factories import file_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def filed(applicant, maintainer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return file_request(applicant)


def _state(request):
    request.refresh_from_db()
    return (
        request.status,
        request.events.count(),
        AuditEvent.objects.count(),
        Grant.objects.count(),
    )


def test_filing_records_the_request_the_terms_and_emails_both_sides(filed, applicant, maintainer):
    assert filed.status == AccessRequest.Status.SUBMITTED
    assert filed.terms.version == 1
    assert [e.kind for e in filed.events.all()] == ["submitted"]
    event = AuditEvent.objects.get(action="access_request.submitted")
    assert event.actor == applicant and event.before is None
    assert event.after["status"] == "submitted"
    assert [m.to for m in mail.outbox] == [[applicant.email], [maintainer.email]]
    assert f"#{filed.pk}" in mail.outbox[1].subject


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"justification": "Too short."}, "at least 200"),
        ({"duration_days": 366}, "1 to 365"),
        ({"elements": ["clientIP"]}, "Not in the published policy"),
        ({"elements": []}, "at least one"),
        ({"datasets": ["everything"]}, "reports, daily rollups"),
        ({"period_start": date(2026, 7, 1), "period_end": date(2026, 1, 1)}, "start before"),
    ],
)
def test_a_request_outside_the_rules_is_refused(applicant, overrides, message):
    with pytest.raises(ValidationError, match=message):
        file_request(applicant, **overrides)
    assert not AccessRequest.objects.exists()
    assert not AuditEvent.objects.exists()


def test_an_unverified_applicant_cannot_file_even_through_the_service(unverified):
    with pytest.raises(services.EmailNotVerified, match="Verify your email address"):
        file_request(unverified)
    assert not AccessRequest.objects.exists()
    assert not AuditEvent.objects.exists()


def test_every_transition_leaves_one_audit_row_with_actor_before_and_after(
    filed, applicant, maintainer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_ask_info(
            request=filed, reviewer=maintainer, message="Which addons exactly?"
        )
        services.access_request_answer(
            request=filed, applicant=applicant, message="fluxcd and terraform."
        )
        grant = services.access_request_approve(request=filed, reviewer=maintainer)
    events = AuditEvent.objects.filter(target_type="access_requests.accessrequest")
    transitions = [
        (e.action, (e.before or {}).get("status"), e.after["status"], e.actor.username)
        for e in events.order_by("id")
    ]
    assert transitions == [
        ("access_request.submitted", None, "submitted", "alice"),
        ("access_request.info_requested", "submitted", "info_requested", "maria"),
        ("access_request.answered", "info_requested", "answered", "alice"),
        ("access_request.approved", "answered", "approved", "maria"),
    ]
    assert all(e.occurred_at for e in events)
    assert AuditEvent.objects.get(action="grant.created").after["elements"] == grant.elements


def test_emails_are_sent_at_each_step(
    filed, applicant, maintainer, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_ask_info(request=filed, reviewer=maintainer, message="Why?")
    assert mail.outbox[-1].to == [applicant.email] and "Why?" in mail.outbox[-1].body
    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_answer(request=filed, applicant=applicant, message="Because.")
    assert mail.outbox[-1].to == [maintainer.email] and "Because." in mail.outbox[-1].body
    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_reject(
            request=filed, reviewer=maintainer, reason="Rollups are public already."
        )
    assert mail.outbox[-1].to == [applicant.email]
    assert "Rollups are public already." in mail.outbox[-1].body


def test_approval_may_narrow_and_creates_the_grant(
    filed, maintainer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        grant = services.access_request_approve(
            request=filed,
            reviewer=maintainer,
            elements=["enableAddonList"],
            datasets=["rollups"],
            period_start=date(2026, 2, 1),
            period_end=date(2026, 3, 31),
            duration_days=30,
        )
    assert grant.elements == ["enableAddonList"]
    assert grant.datasets == ["rollups"]
    assert (grant.period_start, grant.period_end) == (date(2026, 2, 1), date(2026, 3, 31))
    assert abs(grant.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert "approved" in mail.outbox[-1].subject


@pytest.mark.parametrize(
    "widening",
    [
        {"elements": ["enableAddonList", "browserInfo"]},
        {"duration_days": 91},
        {"period_start": date(2025, 12, 31)},
        {"datasets": ["reports", "rollups", "raw"]},
    ],
)
def test_approval_cannot_widen_the_request(filed, maintainer, widening):
    before = _state(filed)
    with pytest.raises(ValidationError, match=r"narrow|duration"):
        services.access_request_approve(request=filed, reviewer=maintainer, **widening)
    assert _state(filed) == before


def test_the_approve_form_offers_no_longer_access_than_was_asked(filed):
    def form(duration_days):
        fields = {
            "datasets": filed.datasets,
            "elements": filed.elements,
            "period_start": filed.period_start,
            "period_end": filed.period_end,
            "duration_days": duration_days,
        }
        return ApproveForm(fields, access_request=filed)

    assert form(filed.duration_days).is_valid()
    longer = form(filed.duration_days + 1)
    assert not longer.is_valid() and list(longer.errors) == ["duration_days"]
    assert f'max="{filed.duration_days}"' in str(longer["duration_days"])


def test_nobody_reviews_their_own_request(maintainer):
    own = file_request(maintainer)
    before = _state(own)
    with pytest.raises(PermissionDenied, match="own request"):
        services.access_request_approve(request=own, reviewer=maintainer)
    assert _state(own) == before


def test_an_applicant_cannot_review(filed, other_applicant, applicant):
    before = _state(filed)
    for actor in (other_applicant, applicant):
        with pytest.raises(PermissionDenied, match="Only maintainers"):
            services.access_request_approve(request=filed, reviewer=actor)
    assert _state(filed) == before


def test_a_withdrawn_request_cannot_be_approved(filed, applicant, maintainer):
    services.access_request_withdraw(request=filed, applicant=applicant)
    before = _state(filed)
    with pytest.raises(ValidationError, match="is withdrawn; it cannot be approved now"):
        services.access_request_approve(request=filed, reviewer=maintainer)
    assert _state(filed) == before


@pytest.mark.parametrize(
    ("action", "expected"),
    [("answer", "cannot be answered"), ("withdraw_other", "Only the applicant")],
)
def test_other_invalid_moves_are_refused(filed, applicant, other_applicant, action, expected):
    before = _state(filed)
    with pytest.raises((ValidationError, PermissionDenied), match=expected):
        if action == "answer":
            services.access_request_answer(request=filed, applicant=applicant, message="x")
        else:
            services.access_request_withdraw(request=filed, applicant=other_applicant)
    assert _state(filed) == before


def test_rejection_needs_a_reason(filed, maintainer):
    before = _state(filed)
    with pytest.raises(ValidationError, match="needs a reason"):
        services.access_request_reject(request=filed, reviewer=maintainer, reason="  ")
    assert _state(filed) == before


def test_a_decided_request_cannot_be_decided_again(filed, maintainer):
    services.access_request_reject(request=filed, reviewer=maintainer, reason="No.")
    with pytest.raises(ValidationError, match="is rejected"):
        services.access_request_approve(request=filed, reviewer=maintainer)


def test_revoking_a_grant_is_audited_and_told_to_the_grantee(
    filed, maintainer, applicant, django_capture_on_commit_callbacks
):
    grant = services.access_request_approve(request=filed, reviewer=maintainer)
    with django_capture_on_commit_callbacks(execute=True):
        services.grant_revoke(grant=grant, actor=maintainer, reason="Terms breached.")
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    event = AuditEvent.objects.get(action="grant.revoked")
    assert event.before["revoked_at"] is None and event.after["revoked_at"]
    assert filed.events.last().kind == RequestEvent.Kind.GRANT_REVOKED
    assert mail.outbox[-1].to == [applicant.email]
    with pytest.raises(ValidationError, match="already revoked"):
        services.grant_revoke(grant=grant, actor=maintainer, reason="Again.")


def test_the_daily_digest_lists_exactly_the_overdue_requests(
    applicant, other_applicant, maintainer, settings, django_capture_on_commit_callbacks
):
    settings.ACCESS_REVIEW_SLA_DAYS = 7
    old = file_request(applicant, purpose="Old and pending")
    answered = file_request(other_applicant, purpose="Old and answered")
    fresh = file_request(applicant, purpose="Fresh")
    decided = file_request(other_applicant, purpose="Old but decided")
    services.access_request_reject(request=decided, reviewer=maintainer, reason="No.")
    long_ago = timezone.now() - timedelta(days=8)
    AccessRequest.objects.filter(pk__in=[old.pk, answered.pk, decided.pk]).update(
        created_at=long_ago
    )
    AccessRequest.objects.filter(pk=answered.pk).update(status="answered")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        listed = services.review_digest_send()
    assert listed == [old.pk, answered.pk]
    assert len(mail.outbox) == 1
    digest = mail.outbox[0]
    assert digest.to == [maintainer.email]
    assert "Old and pending" in digest.body and "Old and answered" in digest.body
    assert "Fresh" not in digest.body and "Old but decided" not in digest.body
    assert fresh.pk not in listed


def test_no_digest_when_nothing_is_overdue(
    applicant, maintainer, django_capture_on_commit_callbacks
):
    file_request(applicant)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # the digest is sent on commit
        assert services.review_digest_send() == []
    assert mail.outbox == []


def test_the_digest_is_scheduled_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["access-review-digest"]
    assert entry["task"] == "access_requests.tasks.review_digest_send"
    assert entry["schedule"] == 24 * 60 * 60


def test_the_justification_must_be_a_real_paragraph(applicant):
    """The minimum counts what is written, not the blanks around it."""
    minimum = services.MIN_JUSTIFICATION_CHARS
    short = " " * 50 + "x" * (minimum - 1) + "\n" * 50
    with pytest.raises(ValidationError, match=f"at least {minimum} characters"):
        file_request(applicant, justification=short)
    assert not AccessRequest.objects.exists()
    filed = file_request(applicant, justification="  " + "x" * minimum + "  ")
    assert filed.justification == "x" * minimum
