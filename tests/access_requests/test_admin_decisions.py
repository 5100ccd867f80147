"""The admin's decision forms: each calls its service and says what happened or why not."""

import re

import pytest
from django.contrib.messages import get_messages

from access_requests import services
from access_requests.models import AccessRequest, Grant
from tests.access_requests.factories import file_request

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_approving_in_the_admin_creates_the_grant_and_says_so(client, applicant, maintainer):
    filed = file_request(applicant)
    client.force_login(maintainer)
    url = f"/admin/access_requests/accessrequest/{filed.pk}/approve/"
    form = client.get(url)
    assert form.status_code == 200 and form.context["title"] == f"Approve: request #{filed.pk}"
    response = client.post(
        url,
        {
            "datasets": filed.datasets,
            "elements": filed.elements,
            "period_start": filed.period_start,
            "period_end": filed.period_end,
            "duration_days": 30,
        },
    )
    assert response["Location"] == f"/admin/access_requests/accessrequest/{filed.pk}/change/"
    assert _messages(response) == [
        f"Request #{filed.pk}: approved. The grant is active and the applicant has been emailed."
    ]
    assert Grant.objects.get(request=filed).elements == sorted(filed.elements)


def test_a_refused_decision_shows_the_services_reason(client, maintainer):
    own = file_request(maintainer)
    client.force_login(maintainer)
    response = client.post(
        f"/admin/access_requests/accessrequest/{own.pk}/reject/", {"reason": "Not needed."}
    )
    assert response["Location"] == f"/admin/access_requests/accessrequest/{own.pk}/change/"
    assert _messages(response) == ["Nobody reviews their own request."]
    own.refresh_from_db()
    assert own.status == AccessRequest.Status.SUBMITTED


def test_revoking_in_the_admin_revokes_the_grant(client, applicant, maintainer):
    grant = services.access_request_approve(request=file_request(applicant), reviewer=maintainer)
    client.force_login(maintainer)
    url = f"/admin/access_requests/grant/{grant.pk}/revoke/"
    assert client.get(url).context["title"] == f"Revoke grant #{grant.pk}"
    response = client.post(url, {"reason": "The study ended."})
    assert response["Location"] == f"/admin/access_requests/grant/{grant.pk}/change/"
    assert _messages(response) == [f"Grant #{grant.pk} is revoked."]
    grant.refresh_from_db()
    assert grant.revoked_at is not None and grant.revoke_reason == "The study ended."


def test_an_auditor_cannot_open_a_decision_form(client, applicant, auditor):
    filed = file_request(applicant)
    client.force_login(auditor)
    for action in ("approve", "reject", "ask-info"):
        url = f"/admin/access_requests/accessrequest/{filed.pk}/{action}/"
        assert client.get(url).status_code == 403
    assert client.post(url, {"reason": "Why?"}).status_code == 403
    filed.refresh_from_db()
    assert filed.status == AccessRequest.Status.SUBMITTED


def test_the_review_page_lists_the_applicants_other_requests_and_grants(
    client, applicant, maintainer
):
    earlier = file_request(applicant, purpose="An earlier study of addon adoption")
    grant = services.access_request_approve(request=earlier, reviewer=maintainer)
    current = file_request(applicant, purpose="A second look at release adoption")
    client.force_login(maintainer)
    page = client.get(f"/admin/access_requests/accessrequest/{current.pk}/change/")
    assert page.status_code == 200
    history = page.content.decode()
    assert f"/admin/access_requests/accessrequest/{earlier.pk}/change/" in history
    assert f"{earlier.created_at:%Y-%m-%d}" in history
    assert f"Grant #{grant.pk}: " in history
    assert f"until {grant.expires_at:%Y-%m-%d}" in history


def test_the_approve_form_shows_the_rows_own_elements_as_always_included(
    client, applicant, maintainer
):
    filed = file_request(applicant)  # enableAddonList, platformID and version
    client.force_login(maintainer)
    url = f"/admin/access_requests/accessrequest/{filed.pk}/approve/"
    html = client.get(url).content.decode()
    (always,) = re.findall(r'<input type="checkbox" name="elements" value="platformID"[^>]*>', html)
    assert "disabled" in always and "checked" in always
    assert "platformID (always included in daily reports)" in html
    assert "Every daily-report row carries the date it was received" in html
    (optional,) = re.findall(r'<input type="checkbox" name="elements" value="version"[^>]*>', html)
    assert "disabled" not in optional
    # the browser sends no disabled box; the grant still lists what was asked for
    client.post(
        url,
        {
            "datasets": filed.datasets,
            "elements": ["version"],
            "period_start": filed.period_start,
            "period_end": filed.period_end,
            "duration_days": 30,
        },
    )
    assert Grant.objects.get(request=filed).elements == ["platformID", "version"]
