import re
from datetime import date

import pytest
import responses
from allauth.socialaccount.models import SocialAccount
from django.core import mail
from django.test import override_settings

from access_requests import services
from access_requests.models import AccessRequest, Profile
from ingest.catalogue import REQUIRED_KEYS
from tests.access_requests.factories import file_request
from tests.access_requests.helpers import request_form_data

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_see_how_to_apply(client):
    page = client.get("/access/").content.decode()
    assert "How it works" in page
    assert "Data-use terms (version 1)" in page


def test_an_applicant_files_a_request_through_the_form(client, applicant, maintainer):
    client.force_login(applicant)
    response = client.post("/access/request/", request_form_data())
    assert response.status_code == 302
    filed = AccessRequest.objects.get()
    assert (filed.applicant, filed.elements, filed.terms.version) == (
        applicant,
        ["enableAddonList"],
        1,
    )
    page = client.get("/access/").content.decode()
    assert "Which addons go together" in page and "Submitted" in page


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"justification": "Short."}, "at least 200 characters"),
        ({"duration_days": "400"}, "less than or equal to 365"),
        ({"accept_terms": ""}, "This field is required"),
        ({"elements": ["clientIP"]}, "Select a valid choice"),
        ({"period_start": "2026-05-01", "period_end": "2026-01-01"}, "must end after"),
    ],
)
def test_the_form_explains_what_is_wrong(client, applicant, overrides, error):
    client.force_login(applicant)
    response = client.post("/access/request/", request_form_data(**overrides))
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not AccessRequest.objects.exists()


def test_an_unverified_member_cannot_file(client, unverified):
    client.force_login(unverified)
    response = client.post("/access/request/", request_form_data())
    assert response.status_code == 302
    assert response["Location"] == "/accounts/email/"
    assert not AccessRequest.objects.exists()


def test_signing_up_requires_verifying_the_email(client, settings):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "newcomer@example.org",
            "password1": "a-long-Passphrase-9",
            "password2": "a-long-Passphrase-9",
        },
    )
    assert response.status_code == 302
    assert "confirm" in mail.outbox[-1].subject.lower()
    assert client.get("/access/request/").status_code == 302  # not logged in until verified


def test_an_applicant_never_sees_another_applicants_request(client, applicant, other_applicant):
    theirs = file_request(other_applicant, purpose="Bob's secret plan")
    client.force_login(applicant)
    assert "Bob's secret plan" not in client.get("/access/").content.decode()
    assert client.post(f"/access/requests/{theirs.pk}/withdraw/").status_code == 404
    assert (
        client.post(f"/access/requests/{theirs.pk}/answer/", {"message": "hi"}).status_code == 404
    )
    theirs.refresh_from_db()
    assert theirs.status == "submitted"


def test_withdraw_and_answer_from_the_page(client, applicant, maintainer):
    filed = file_request(applicant)
    services.access_request_ask_info(request=filed, reviewer=maintainer, message="Which CI?")
    client.force_login(applicant)
    assert "Which CI?" in client.get("/access/").content.decode()  # the overview says so
    page = client.get(f"/access/requests/{filed.pk}/").content.decode()
    assert "Which CI?" in page and "Send the answer" in page
    answered = client.post(f"/access/requests/{filed.pk}/answer/", {"message": "GitHub Actions."})
    assert answered.headers["Location"] == f"/access/requests/{filed.pk}/"
    filed.refresh_from_db()
    assert filed.status == "answered"
    withdrawn = client.post(f"/access/requests/{filed.pk}/withdraw/")
    assert withdrawn.headers["Location"] == f"/access/requests/{filed.pk}/"
    filed.refresh_from_db()
    assert filed.status == "withdrawn"
    response = client.post(f"/access/requests/{filed.pk}/withdraw/", follow=True)
    assert "cannot be withdrawn now" in response.content.decode()


def test_the_profile_is_editable_by_its_owner(client, applicant):
    client.force_login(applicant)
    client.post("/accounts/profile/", {"display_name": "Alice A.", "affiliation": "CNCF"})
    assert Profile.objects.get(user=applicant).affiliation == "CNCF"
    assert client.get("/access/request/").context["form"].initial["affiliation"] == "CNCF"


def test_the_register_lists_approved_uses_and_the_process_figures(
    client, applicant, other_applicant, maintainer
):
    approved = file_request(applicant, purpose="Public addon report")
    services.access_request_approve(request=approved, reviewer=maintainer)
    rejected = file_request(other_applicant, purpose="Marketing list")
    services.access_request_reject(request=rejected, reviewer=maintainer, reason="No.")
    file_request(other_applicant, purpose="Still pending")
    page = client.get("/access/register/")
    html = page.content.decode()
    assert "Public addon report" in html and "Example Org" in html
    assert "Marketing list" not in html and "Still pending" not in html
    figures = page.context["figures"]
    assert (figures["received"], figures["approved"], figures["rejected"], figures["pending"]) == (
        3,
        1,
        1,
        1,
    )
    assert figures["median_days_to_decision"] == 0.0


# --- GitHub sign-in, with GitHub's endpoints stubbed at the HTTP edge ---------------------

GITHUB = {"client_id": "test-client", "secret": "test-secret"}


@override_settings(SOCIALACCOUNT_PROVIDERS={"github": {"APPS": [GITHUB], "SCOPE": ["user:email"]}})
@responses.activate
def test_signing_in_with_github(client):
    start = client.post("/accounts/github/login/")
    assert start.status_code == 302
    assert start["Location"].startswith("https://github.com/login/oauth/authorize")
    state = dict(part.split("=") for part in start["Location"].split("?")[1].split("&"))["state"]
    responses.post(
        "https://github.com/login/oauth/access_token",
        json={"access_token": "gho_test", "token_type": "bearer"},
    )
    responses.get(
        "https://api.github.com/user",
        json={"id": 4242, "login": "octo", "name": "Octo Cat", "email": None},
    )
    responses.get(
        "https://api.github.com/user/emails",
        json=[{"email": "octo@example.org", "primary": True, "verified": True}],
    )
    callback = client.get("/accounts/github/login/callback/", {"code": "abc", "state": state})
    assert callback.status_code == 302
    account = SocialAccount.objects.get(provider="github", uid="4242")
    assert account.user.email == "octo@example.org"
    assert client.get("/access/request/").status_code == 200  # verified by GitHub


def test_the_github_button_is_hidden_without_credentials(client):
    assert "GitHub" not in client.get("/accounts/login/").content.decode()


@override_settings(SOCIALACCOUNT_PROVIDERS={"github": {"APPS": [GITHUB]}})
def test_the_github_button_shows_with_credentials(client):
    assert "GitHub" in client.get("/accounts/login/").content.decode()


def test_dates_in_requests_are_kept(client, applicant):
    """The period filed through the form is the one stored and shown back to the applicant."""
    client.force_login(applicant)
    form = request_form_data(period_start="2026-02-03", period_end="2026-05-17")
    assert client.post("/access/request/", form).status_code == 302
    stored = AccessRequest.objects.values_list("period_start", "period_end").get()
    assert stored == (date(2026, 2, 3), date(2026, 5, 17))
    assert "period 2026-02-03 to 2026-05-17" in client.get("/access/").content.decode()


def test_the_terms_read_as_paragraphs_not_as_their_stored_line_breaks(client):
    from access_requests.models import DataUseTerms

    terms = DataUseTerms.objects.get(version=1)
    assert terms.paragraphs[0] == "By requesting access you agree that:"
    assert terms.paragraphs[1] == (
        "1. You use the data only for the purpose you stated, for the benefit of the KubeVela "
        "community, and only during the period of access granted."
    )
    assert len(terms.paragraphs) == 6
    page = client.get("/access/").content.decode()
    assert f"<p>{terms.paragraphs[1]}</p>" in page


def test_the_form_says_the_affiliation_is_published_when_approved(client, applicant):
    import re

    client.force_login(applicant)
    page = client.get("/access/request/").content.decode()
    block = re.search(r'<div>\s*<label for="id_affiliation">.*?</div>', page, re.S).group(0)
    field = re.search(r'<input[^>]*name="affiliation"[^>]*>', block).group(0)
    assert 'aria-describedby="id_affiliation_helptext"' in field
    note = re.search(r'<span class="helptext" id="id_affiliation_helptext">(.*?)</span>', block)
    assert note.group(1) == (
        "Your employer, project or school. If the request is approved, it is published "
        "with the purpose in the public register of approved uses."
    )


def _element_inputs(html: str) -> dict[str, str]:
    """Each element's checkbox as rendered, by its value."""
    pattern = r'(<input type="checkbox" name="elements" value="([^"]*)"[^>]*>)'
    return {value: tag for tag, value in re.findall(pattern, html)}


def test_the_form_shows_the_date_and_pseudonym_as_always_included(client, applicant):
    client.force_login(applicant)
    html = client.get("/access/request/").content.decode()
    inputs = _element_inputs(html)
    for always in ("platformID", "requestTime"):
        assert "disabled" in inputs[always] and "checked" in inputs[always], inputs[always]
    optional = {key: tag for key, tag in inputs.items() if key not in REQUIRED_KEYS}
    assert "enableAddonList" in optional
    assert not any("disabled" in tag or "checked" in tag for tag in optional.values())
    assert html.count("always included in daily reports") == 2
    assert "Every daily-report row carries the date it was received" in html


def test_a_request_of_daily_reports_keeps_listing_the_two_always_included(client, applicant):
    client.force_login(applicant)
    data = request_form_data(datasets=["reports"], elements=["version"])
    assert client.post("/access/request/", data).status_code == 302
    assert AccessRequest.objects.get().elements == ["platformID", "requestTime", "version"]


def test_a_request_of_rollups_only_is_stored_as_ticked(client, applicant):
    client.force_login(applicant)
    assert client.post("/access/request/", request_form_data()).status_code == 302
    assert AccessRequest.objects.get().elements == ["enableAddonList"]


def test_the_two_always_included_are_not_enough_on_their_own(client, applicant):
    client.force_login(applicant)
    for elements in ([], ["platformID", "requestTime"], ["platformID"]):
        data = request_form_data(datasets=["reports"], elements=elements)
        response = client.post("/access/request/", data)
        assert response.status_code == 200, elements
        assert "Choose at least one data element besides the two always included." in (
            response.content.decode()
        ), elements
    assert not AccessRequest.objects.exists()
