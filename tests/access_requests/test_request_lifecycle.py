"""A member's request after filing: editing it while pending, the similar-request rule,
and renewing a grant (issue 15)."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from access_requests import services
from access_requests.models import AccessRequest, DataUseTerms, Grant, RequestEvent
from access_requests.selectors import (
    access_requests_for_user,
    access_requests_similar_open,
    grant_renewal_refusal,
)
from portal.models import AuditEvent
from tests.access_requests.factories import JUSTIFICATION, file_request

pytestmark = pytest.mark.django_db


def _asked(request: AccessRequest, **changes) -> dict:
    """What the request asks now, as access_request_edit takes it, with ``changes``."""
    fields = {name: getattr(request, name) for name in services.EDITABLE_FIELDS}
    return fields | changes


def _renewal_fields(grant: Grant, **changes) -> dict:
    asked = grant.request
    fields = dict(
        purpose=asked.purpose,
        justification=asked.justification,
        intended_use=asked.intended_use,
        publication_plans=asked.publication_plans,
        affiliation=asked.affiliation,
        datasets=grant.datasets,
        elements=grant.elements,
        period_start=grant.period_start,
        period_end=grant.period_end,
        duration_days=asked.duration_days,
        terms=DataUseTerms.objects.get(version=1),
    )
    return fields | changes


# --- editing -------------------------------------------------------------------------------


def test_an_edit_changes_the_request_and_says_which_fields_changed(
    applicant, maintainer, django_capture_on_commit_callbacks
):
    filed = file_request(applicant)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_edit(
            request=filed,
            applicant=applicant,
            **_asked(filed, purpose="  Addon pairs, weekly ", elements=["enableAddonList"]),
        )
    filed.refresh_from_db()
    assert (filed.purpose, filed.elements, filed.status) == (
        "Addon pairs, weekly",
        ["enableAddonList"],
        "submitted",
    )
    event = filed.events.get(kind=RequestEvent.Kind.EDITED)
    assert (event.actor, event.message) == (applicant, "Changed: purpose, elements.")
    audit = AuditEvent.objects.get(action="access_request.edited")
    assert audit.actor == applicant and audit.details == {"changed": ["purpose", "elements"]}
    assert audit.before == {
        "purpose": "Addon co-usage study",
        "elements": ["enableAddonList", "platformID", "version"],
    }
    assert audit.after == {"purpose": "Addon pairs, weekly", "elements": ["enableAddonList"]}
    assert [m.to for m in mail.outbox] == [[maintainer.email]]
    assert "Changed: purpose, elements." in mail.outbox[0].body
    assert mail.outbox[0].subject == f"Request #{filed.pk} was edited by its applicant"


@pytest.mark.parametrize("status", ["info_requested", "answered"])
def test_a_request_waiting_on_an_answer_may_be_edited(applicant, maintainer, status):
    filed = file_request(applicant)
    services.access_request_ask_info(request=filed, reviewer=maintainer, message="Which CI?")
    if status == "answered":
        services.access_request_answer(request=filed, applicant=applicant, message="GitHub.")
    filed.refresh_from_db()
    services.access_request_edit(
        request=filed, applicant=applicant, **_asked(filed, period_end=date(2026, 3, 31))
    )
    filed.refresh_from_db()
    assert (filed.status, filed.period_end) == (status, date(2026, 3, 31))
    assert filed.events.last().message == "Changed: data to."


@pytest.mark.parametrize("decision", ["approve", "reject", "withdraw"])
def test_a_decided_request_cannot_be_edited(applicant, maintainer, decision):
    filed = file_request(applicant)
    if decision == "approve":
        services.access_request_approve(request=filed, reviewer=maintainer)
    elif decision == "reject":
        services.access_request_reject(request=filed, reviewer=maintainer, reason="No.")
    else:
        services.access_request_withdraw(request=filed, applicant=applicant)
    filed.refresh_from_db()
    with pytest.raises(ValidationError, match="only a request waiting for a decision"):
        services.access_request_edit(
            request=filed, applicant=applicant, **_asked(filed, purpose="Something else")
        )
    filed.refresh_from_db()
    assert filed.purpose == "Addon co-usage study"
    assert not filed.events.filter(kind=RequestEvent.Kind.EDITED).exists()


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"justification": "Too short."}, "at least 200 characters"),
        ({"elements": ["clientIP"]}, "Not in the published policy"),
        ({"datasets": []}, "daily reports, daily rollups, or both"),
        ({"duration_days": 400}, "1 to 365 days"),
        ({"period_start": date(2026, 7, 1)}, "must start before it ends"),
    ],
)
def test_an_edit_is_validated_as_filing_is(applicant, changes, error):
    filed = file_request(applicant)
    with pytest.raises(ValidationError, match=error):
        services.access_request_edit(request=filed, applicant=applicant, **_asked(filed, **changes))
    assert not AuditEvent.objects.filter(action="access_request.edited").exists()


def test_an_edit_that_changes_nothing_is_refused_and_records_nothing(applicant):
    filed = file_request(applicant)
    with pytest.raises(ValidationError, match="Nothing was changed"):
        services.access_request_edit(request=filed, applicant=applicant, **_asked(filed))
    assert filed.events.count() == 1


def test_only_the_applicant_edits(applicant, other_applicant):
    filed = file_request(applicant)
    with pytest.raises(PermissionDenied):
        services.access_request_edit(
            request=filed, applicant=other_applicant, **_asked(filed, purpose="Mine now")
        )


# --- the similar-request rule ----------------------------------------------------------------


def _similar(applicant, **scope):
    asked = (
        dict(
            datasets=["reports", "rollups"],
            elements=["version"],
            period_start=date(2026, 3, 1),
            period_end=date(2026, 9, 30),
        )
        | scope
    )
    return access_requests_similar_open(applicant=applicant, **asked)


def test_a_similar_request_has_the_same_datasets_a_shared_element_and_an_overlapping_period(
    applicant, other_applicant, maintainer
):
    open_one = file_request(applicant)  # reports+rollups, three elements, January to June
    assert _similar(applicant) == [open_one]
    assert _similar(applicant, datasets=["rollups"]) == []  # other datasets
    assert _similar(applicant, elements=["clusterCount"]) == []  # no element in common
    assert _similar(applicant, period_start=date(2026, 7, 1)) == []  # after it
    assert _similar(applicant, period_end=date(2026, 1, 1), period_start=date(2025, 1, 1)) == [
        open_one  # a single shared day is an overlap
    ]
    assert _similar(other_applicant) == []  # another member's request is not theirs
    assert _similar(applicant, exclude_pk=open_one.pk) == []
    services.access_request_approve(request=open_one, reviewer=maintainer)
    assert _similar(applicant) == []  # decided: no longer open


# --- the overview's filter -------------------------------------------------------------------


def test_the_overview_filters_by_a_group_or_a_status(applicant, maintainer):
    approved = file_request(applicant, purpose="Approved one")
    services.access_request_approve(request=approved, reviewer=maintainer)
    withdrawn = file_request(applicant, purpose="Withdrawn one")
    services.access_request_withdraw(request=withdrawn, applicant=applicant)
    pending = file_request(applicant, purpose="Pending one")

    def shown(state):
        return [r.pk for r in access_requests_for_user(user=applicant, state=state)]

    assert shown("") == [pending.pk, withdrawn.pk, approved.pk]
    assert shown("open") == [pending.pk]
    assert shown("approved") == [approved.pk]
    assert shown("closed") == [withdrawn.pk]
    assert shown("withdrawn") == [withdrawn.pk]
    assert shown("rejected") == []


# --- renewal ---------------------------------------------------------------------------------


@pytest.fixture
def grant(applicant, maintainer):
    filed = file_request(applicant)
    return services.access_request_approve(request=filed, reviewer=maintainer)


def test_a_renewal_is_a_new_request_that_the_original_timeline_records(
    grant, applicant, maintainer, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        renewal = services.access_request_submit(
            applicant=applicant, **_renewal_fields(grant, renewal_of=grant)
        )
    assert renewal.pk != grant.request_id and renewal.renewal_of == grant
    assert renewal.status == "submitted" and renewal.elements == grant.elements
    original = grant.request
    event = original.events.get(kind=RequestEvent.Kind.RENEWAL_REQUESTED)
    assert (event.actor, event.message) == (
        applicant,
        f"Renewal requested as request #{renewal.pk}.",
    )
    audit = AuditEvent.objects.get(action="access_request.renewal_requested")
    assert audit.target_id == str(original.pk)
    assert audit.details == {"renewal": renewal.pk, "grant": grant.pk}
    filed = AuditEvent.objects.filter(action="access_request.submitted").latest("id")
    assert filed.details == {"renewal_of_grant": grant.pk}
    assert [m.to for m in mail.outbox] == [[applicant.email], [maintainer.email]]


def test_a_grant_that_ended_within_90_days_may_be_renewed_and_not_after(grant, applicant):
    now = timezone.now()
    assert grant_renewal_refusal(grant=grant) is None
    Grant.objects.filter(pk=grant.pk).update(expires_at=now - timedelta(days=89))
    grant.refresh_from_db()
    assert grant_renewal_refusal(grant=grant) is None
    Grant.objects.filter(pk=grant.pk).update(expires_at=now - timedelta(days=91))
    grant.refresh_from_db()
    assert "more than 90 days ago" in grant_renewal_refusal(grant=grant)
    with pytest.raises(ValidationError, match="more than 90 days ago"):
        services.access_request_submit(
            applicant=applicant, **_renewal_fields(grant, renewal_of=grant)
        )
    assert AccessRequest.objects.count() == 1


def test_a_revoked_grant_is_not_renewed(grant, applicant, maintainer):
    services.grant_revoke(grant=grant, actor=maintainer, reason="Misuse.")
    with pytest.raises(ValidationError, match="was revoked"):
        services.access_request_submit(
            applicant=applicant, **_renewal_fields(grant, renewal_of=grant)
        )
    assert not RequestEvent.objects.filter(kind=RequestEvent.Kind.RENEWAL_REQUESTED).exists()


def test_only_the_grantee_renews(grant, other_applicant):
    with pytest.raises(PermissionDenied):
        services.access_request_submit(
            applicant=other_applicant, **_renewal_fields(grant, renewal_of=grant)
        )
    assert AccessRequest.objects.filter(applicant=other_applicant).count() == 0


def test_a_renewal_still_counts_against_the_open_request_quota(grant, applicant):
    for n in range(3):
        file_request(applicant, purpose=f"Open {n}", justification=JUSTIFICATION)
    with pytest.raises(ValidationError, match="open requests"):
        services.access_request_submit(
            applicant=applicant, **_renewal_fields(grant, renewal_of=grant)
        )
    assert not grant.request.events.filter(kind=RequestEvent.Kind.RENEWAL_REQUESTED).exists()
