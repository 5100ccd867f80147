"""The member's pages (issue 15): the overview, a request's page, editing, withdrawing
after a confirmation, the similar-request warning, renewal and the new token's page."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from access_requests import services
from access_requests.models import AccessRequest, Grant, RequestEvent
from portal.models import AuditEvent
from tests.access_requests.factories import file_request
from tests.access_requests.helpers import data_api_get, grant_for, request_form_data

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def _page(pk: int) -> str:
    return f"/access/requests/{pk}/"


# --- the overview ----------------------------------------------------------------------------


def test_the_overview_lists_ten_requests_a_page_each_linking_to_its_page(client, applicant):
    filed = [file_request(applicant, purpose=f"Study {n:02}") for n in range(3)]
    AccessRequest.objects.bulk_create(  # beyond the quota of open requests: made directly
        [
            AccessRequest(
                **{
                    f.name: getattr(filed[0], f.name)
                    for f in AccessRequest._meta.concrete_fields
                    if f.name not in ("id", "created_at", "purpose", "status")
                },
                purpose=f"Closed {n:02}",
                status="withdrawn",
            )
            for n in range(9)
        ]
    )
    client.force_login(applicant)
    first = client.get("/access/")
    html = first.content.decode()
    links = re.findall(r'href="/access/requests/(\d+)/"', html)
    assert len(links) == 10
    assert first.context["page"].paginator.num_pages == 2
    assert "Page 1 of 2" in html and 'rel="next"' in html
    second = client.get("/access/?page=2").content.decode()
    assert len(re.findall(r'href="/access/requests/(\d+)/"', second)) == 2
    assert set(links).isdisjoint(re.findall(r'href="/access/requests/(\d+)/"', second))
    assert "Page 2 of 2" in second and 'rel="prev"' in second


def test_the_overview_filters_by_state_and_keeps_it_across_pages(client, applicant, maintainer):
    approved = file_request(applicant, purpose="The approved study")
    services.access_request_approve(request=approved, reviewer=maintainer)
    file_request(applicant, purpose="The pending study")
    client.force_login(applicant)
    shown = client.get("/access/?state=approved").content.decode()
    assert "The approved study" in shown and "The pending study" not in shown
    assert '<option value="approved" selected>' in shown
    assert "active until" in shown
    pending = client.get("/access/?state=submitted").content.decode()
    assert "The pending study" in pending and "The approved study" not in pending
    empty = client.get("/access/?state=rejected").content.decode()
    assert "None of your requests is in this state" in empty


def test_an_unknown_state_gets_a_clear_message_not_an_error(client, applicant):
    file_request(applicant, purpose="Still listed")
    client.force_login(applicant)
    response = client.get("/access/?state=bogus")
    assert response.status_code == 200
    assert _messages(response) == [
        "There is no state 'bogus'; choose one of: open, approved, closed, submitted, "
        "info_requested, answered, rejected, withdrawn."
    ]
    assert "Still listed" in response.content.decode()
    assert client.get("/access/?page=abc").status_code == 200  # a bad page is the first


def test_the_overview_makes_as_many_queries_for_ten_requests_as_for_one(
    client, applicant, maintainer
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/access/").status_code == 200
        return len(captured)

    client.force_login(applicant)
    services.access_request_approve(request=file_request(applicant), reviewer=maintainer)
    one = queries()
    for _ in range(9):
        services.access_request_approve(request=file_request(applicant), reviewer=maintainer)
    assert queries() == one


def test_anonymous_visitors_still_see_how_to_get_access(client):
    html = client.get("/access/").content.decode()
    assert "How it works" in html and "Your requests" not in html


# --- a request's page ------------------------------------------------------------------------


def test_the_request_page_shows_what_was_asked_and_every_event(client, applicant, maintainer):
    filed = file_request(applicant, publication_plans="A talk at KubeCon")
    services.access_request_ask_info(request=filed, reviewer=maintainer, message="Which CI?")
    services.access_request_answer(request=filed, applicant=applicant, message="GitHub Actions")
    filed.refresh_from_db()
    services.access_request_edit(
        request=filed,
        applicant=applicant,
        **{n: getattr(filed, n) for n in services.EDITABLE_FIELDS} | {"duration_days": 30},
    )
    RequestEvent.objects.create(
        request=filed, kind=RequestEvent.Kind.REMINDED, message="Access ends in 7 days."
    )
    client.force_login(applicant)
    html = client.get(_page(filed.pk)).content.decode()
    for shown in (
        "Addon co-usage study",
        "We maintain the KubeVela addon catalogue",
        "Count addon pairs per week.",
        "A talk at KubeCon",
        "Example Org",
        "2026-01-01 to 2026-06-30",
        "30 days",
        "Which CI?",
        "GitHub Actions",
        "Changed: duration days.",
        "Edited by the applicant",
        "Reminded that access ends",
        "Access ends in 7 days.",
    ):
        assert shown in html, shown
    # the elements come with what the policy says of them
    assert re.search(r"<code>enableAddonList</code>: \S", html)


def test_the_request_page_is_its_applicants_alone(client, applicant, other_applicant):
    theirs = file_request(other_applicant, purpose="Bob's plan")
    client.force_login(applicant)
    for path in ("", "edit/", "withdraw/"):
        assert client.get(_page(theirs.pk) + path).status_code == 404
    assert client.get(_page(999999)).status_code == 404
    client.logout()
    assert client.get(_page(theirs.pk)).status_code == 302  # to the sign-in page


def test_the_grant_section_shows_its_state_tokens_exports_and_reads(client, applicant, maintainer):
    grant = grant_for(applicant, maintainer)
    _, secret = services.token_mint(grant=grant, user=applicant, name="the notebook")
    client.force_login(applicant)
    html = client.get(_page(grant.request_id)).content.decode()
    assert "What was granted" in html and ">active<" in html
    assert "the notebook" in html and "Create a read token" in html
    assert "Ask for an export" in html and "No export yet." in html
    assert "No data read yet." in html
    assert "Request renewal" in html
    assert data_api_get(client, secret, limit="3").status_code == 200
    read = client.get(_page(grant.request_id)).content.decode()
    assert "No data read yet." not in read
    assert "<code>/api/v1/data/reports</code>" in read and "limit=3" in read
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(days=3))
    ended = client.get(_page(grant.request_id)).content.decode()
    assert ">ended<" in ended and "Create a read token" not in ended
    assert "Request renewal" in ended
    services.grant_revoke(grant=grant, actor=maintainer, reason="Ended early.")
    revoked = client.get(_page(grant.request_id)).content.decode()
    assert ">revoked<" in revoked and "Ended early." in revoked
    assert "Request renewal" not in revoked


def test_token_and_export_actions_return_to_the_request_page(client, applicant, maintainer):
    grant = grant_for(applicant, maintainer)
    token, _ = services.token_mint(grant=grant, user=applicant, name="laptop")
    client.force_login(applicant)
    revoked = client.post(f"/access/tokens/{token.pk}/revoke/")
    assert revoked.headers["Location"] == _page(grant.request_id)
    bad = client.post(f"/access/grants/{grant.pk}/tokens/", {"name": ""})
    assert bad.headers["Location"] == _page(grant.request_id)
    bad_export = client.post(f"/access/grants/{grant.pk}/exports/", {"format": "xls"})
    assert bad_export.headers["Location"] == _page(grant.request_id)


# --- editing ---------------------------------------------------------------------------------


def test_the_edit_form_is_prefilled_and_an_edit_is_recorded(client, applicant, maintainer):
    filed = file_request(applicant)
    client.force_login(applicant)
    form = client.get(_page(filed.pk) + "edit/")
    assert form.status_code == 200
    assert form.context["form"].initial["purpose"] == "Addon co-usage study"
    html = form.content.decode()
    assert 'value="Addon co-usage study"' in html and "accept_terms" not in html
    data = request_form_data(purpose="Addon pairs", datasets=["reports", "rollups"])
    data.pop("accept_terms")
    saved = client.post(_page(filed.pk) + "edit/", data)
    assert saved.headers["Location"] == _page(filed.pk)
    filed.refresh_from_db()
    # the browser sends no disabled box: the two every daily-report row carries are kept
    assert filed.purpose == "Addon pairs"
    assert filed.elements == ["enableAddonList", "platformID", "requestTime"]
    event = filed.events.get(kind="edited")
    assert event.message == (
        "Changed: purpose, intended use, publication plans, elements, data to, duration days."
    )
    assert AuditEvent.objects.filter(action="access_request.edited", actor=applicant).count() == 1


def test_an_edit_is_validated_like_the_form_to_file(client, applicant):
    filed = file_request(applicant)
    client.force_login(applicant)
    response = client.post(_page(filed.pk) + "edit/", request_form_data(justification="Short."))
    assert response.status_code == 200
    assert "at least 200 characters" in response.content.decode()
    filed.refresh_from_db()
    assert filed.justification.startswith("We maintain")


def test_a_decided_request_is_not_editable_and_says_why(client, applicant, maintainer):
    filed = file_request(applicant)
    services.access_request_reject(request=filed, reviewer=maintainer, reason="No.")
    client.force_login(applicant)
    for method in (client.get, client.post):
        response = method(_page(filed.pk) + "edit/")
        assert response.headers["Location"] == _page(filed.pk)
        assert _messages(response)[-1] == (  # messages pile up until a page shows them
            f"Request #{filed.pk} is rejected; only a request waiting for a decision can be edited."
        )
    assert "Edit this request" not in client.get(_page(filed.pk)).content.decode()


# --- withdrawing -----------------------------------------------------------------------------


def test_withdrawing_asks_for_confirmation_first(client, applicant):
    filed = file_request(applicant)
    client.force_login(applicant)
    confirm = client.get(_page(filed.pk) + "withdraw/")
    html = confirm.content.decode()
    assert confirm.status_code == 200
    assert f"Withdraw request #{filed.pk}</button>" in html
    assert f'<a href="{_page(filed.pk)}">Keep it</a>' in html
    filed.refresh_from_db()
    assert filed.status == "submitted"  # the GET changed nothing
    done = client.post(_page(filed.pk) + "withdraw/")
    assert done.headers["Location"] == _page(filed.pk)
    filed.refresh_from_db()
    assert filed.status == "withdrawn"
    again = client.get(_page(filed.pk) + "withdraw/").content.decode()
    assert "can no longer be withdrawn" in again and "<button" not in again.split("<main")[1]


# --- the similar-request warning -------------------------------------------------------------


def test_filing_a_similar_request_warns_and_needs_a_tick(client, applicant):
    open_one = file_request(applicant, datasets=["rollups"], purpose="The first study")
    client.force_login(applicant)
    warned = client.post("/access/request/", request_form_data())
    assert warned.status_code == 200
    html = warned.content.decode()
    assert "You already have an open request for much the same data" in html
    assert f'href="{_page(open_one.pk)}">Request #{open_one.pk}: The first study' in html
    assert 'name="file_anyway"' in html
    assert AccessRequest.objects.count() == 1
    filed = client.post("/access/request/", request_form_data(file_anyway="on"))
    created = AccessRequest.objects.latest("pk")
    assert filed.headers["Location"] == _page(created.pk) and created.pk != open_one.pk


def test_a_request_unlike_the_open_ones_is_filed_without_a_warning(client, applicant):
    file_request(applicant, datasets=["reports"])  # other datasets than the form's rollups
    client.force_login(applicant)
    response = client.post("/access/request/", request_form_data())
    assert response.status_code == 302
    assert AccessRequest.objects.count() == 2


# --- renewal ---------------------------------------------------------------------------------


def test_renewing_a_grant_prefills_the_form_and_links_both_requests(client, applicant, maintainer):
    grant = grant_for(applicant, maintainer)
    client.force_login(applicant)
    form = client.get(f"/access/grants/{grant.pk}/renew/")
    assert form.status_code == 200
    initial = form.context["form"].initial
    assert (initial["elements"], initial["period_start"], initial["datasets"]) == (
        grant.elements,
        grant.period_start,
        grant.datasets,
    )
    assert initial["justification"] == grant.request.justification
    data = request_form_data(
        datasets=grant.datasets,
        elements=grant.elements,
        period_start="2026-02-01",
        period_end="2026-02-28",
    )
    filed = client.post(f"/access/grants/{grant.pk}/renew/", data)
    renewal = AccessRequest.objects.get(renewal_of=grant)
    assert filed.headers["Location"] == _page(renewal.pk)
    renewal_page = client.get(_page(renewal.pk)).content.decode()
    assert f"Renewal of grant #{grant.pk}" in renewal_page
    assert f'href="{_page(grant.request_id)}">request #{grant.request_id}</a>' in renewal_page
    original = client.get(_page(grant.request_id)).content.decode()
    assert f"Renewal requested as request #{renewal.pk}." in original


def test_a_grant_past_the_renewal_window_offers_no_renewal(client, applicant, maintainer):
    grant = grant_for(applicant, maintainer)
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(days=120))
    client.force_login(applicant)
    assert "Request renewal" not in client.get(_page(grant.request_id)).content.decode()
    refused = client.get(f"/access/grants/{grant.pk}/renew/")
    assert refused.headers["Location"] == _page(grant.request_id)
    assert "ended more than 90 days ago" in _messages(refused)[0]


def test_nobody_renews_anothers_grant(client, applicant, other_applicant, maintainer):
    grant = grant_for(other_applicant, maintainer)
    client.force_login(applicant)
    assert client.get(f"/access/grants/{grant.pk}/renew/").status_code == 404
    assert client.post(f"/access/grants/{grant.pk}/renew/", request_form_data()).status_code == 404
    assert not AccessRequest.objects.filter(renewal_of=grant).exists()


# --- the new token's page --------------------------------------------------------------------


def test_the_curl_example_carries_the_whole_token_and_is_not_cached(client, applicant, maintainer):
    grant = grant_for(applicant, maintainer)
    client.force_login(applicant)
    response = client.post(f"/access/grants/{grant.pk}/tokens/", {"name": "cli"})
    secret = response.context["secret"]
    assert response["Cache-Control"] == "no-store"
    assert f'curl -H "Authorization: Bearer {secret}" \\' in response.content.decode()
    assert f"Bearer {secret[:10]}…" not in response.content.decode()


def test_a_grant_with_a_pending_renewal_links_it_instead_of_offering_another(
    client, applicant, maintainer
):
    grant = grant_for(applicant, maintainer)
    client.force_login(applicant)
    data = request_form_data(datasets=grant.datasets, elements=grant.elements)
    client.post(f"/access/grants/{grant.pk}/renew/", data)
    renewal = AccessRequest.objects.get(renewal_of=grant)
    original = client.get(_page(grant.request_id)).content.decode()
    assert "Request renewal" not in original
    assert f"/access/grants/{grant.pk}/renew/" not in original
    assert f'Renewal requested: <a href="{_page(renewal.pk)}">request #{renewal.pk}</a>' in original
    again = client.get(f"/access/grants/{grant.pk}/renew/")
    assert again.headers["Location"] == _page(renewal.pk)
    assert (
        f"already has a renewal waiting for a decision: request #{renewal.pk}"
        in (_messages(again)[0])
    )
    posted = client.post(f"/access/grants/{grant.pk}/renew/", data)
    assert posted.headers["Location"] == _page(renewal.pk)
    assert AccessRequest.objects.filter(renewal_of=grant).count() == 1


def test_once_the_renewal_is_decided_the_grant_offers_renewal_again(client, applicant, maintainer):
    grant = grant_for(applicant, maintainer)
    renewal = file_request(applicant, renewal_of=grant)
    services.access_request_reject(request=renewal, reviewer=maintainer, reason="Not yet.")
    client.force_login(applicant)
    original = client.get(_page(grant.request_id)).content.decode()
    assert "Request renewal" in original and "Renewal requested:" not in original
    assert client.get(f"/access/grants/{grant.pk}/renew/").status_code == 200


def test_the_service_refuses_a_second_pending_renewal(applicant, maintainer):
    grant = grant_for(applicant, maintainer)
    first = file_request(applicant, renewal_of=grant)
    with pytest.raises(ValidationError, match=f"waiting for a decision: request #{first.pk}"):
        file_request(applicant, renewal_of=grant)
    assert AccessRequest.objects.filter(renewal_of=grant).count() == 1
