"""The reviewers' admin: the queue, the whole request beside each decision, what was
granted, renewals and the breadcrumbs of the custom pages."""

import re
from datetime import date, timedelta
from html import unescape

import pytest
from django.apps import apps
from django.utils import timezone

from access_requests import services
from access_requests.models import AccessRequest, Grant
from access_requests.services import exports as export_services
from ingest.dictionary import dictionary_entry
from tests.access_requests.factories import file_request

pytestmark = pytest.mark.django_db

QUEUE = "/admin/access_requests/accessrequest/"
ACCESS_APP = apps.get_app_config("access_requests").verbose_name


def _request_page(pk: int, view: str = "change") -> str:
    return f"{QUEUE}{pk}/{view}/"


def _text(response) -> str:
    """The page's visible text, tags removed and whitespace collapsed."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _breadcrumbs(response) -> list[tuple[str, str | None]]:
    """(text, href) of each step of the page's breadcrumbs; the last has no link."""
    trail = re.search(r'<div class="breadcrumbs">(.*?)</div>', response.content.decode(), re.S)
    assert trail, "the page has no breadcrumbs"
    steps = []
    for part in unescape(trail.group(1)).split("\N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK}"):
        link = re.search(r'<a href="([^"]+)">(.*?)</a>', part, re.S)
        if link:
            steps.append((link.group(2).strip(), link.group(1)))
        else:
            steps.append((re.sub(r"\s+", " ", part).strip(), None))
    return steps


def _queue_rows(response) -> dict[int, str]:
    """Each row of the queue's table by the request's id."""
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", response.content.decode(), re.S):
        link = re.search(r"/accessrequest/(\d+)/change/", row)
        if link:
            rows[int(link.group(1))] = row
    return rows


@pytest.fixture
def answered(applicant, maintainer):
    """A request on which the maintainer asked a question and the applicant answered."""
    filed = file_request(
        applicant,
        purpose="Addon pairs over a quarter",
        intended_use="Weekly counts of addon pairs, compared over time.",
        publication_plans="A post on the KubeVela blog, aggregates only.",
        affiliation="Example University",
        elements=["enableAddonList", "platformID", "version"],
    )
    services.access_request_ask_info(
        request=filed, reviewer=maintainer, message="Which addons do you expect to compare?"
    )
    services.access_request_answer(
        request=filed, applicant=applicant, message="FluxCD against the Terraform addons."
    )
    return filed


@pytest.mark.parametrize("action", ["approve", "reject", "ask-info"])
def test_each_decision_form_shows_the_whole_request_and_its_timeline(
    client, maintainer, answered, action
):
    client.force_login(maintainer)
    response = client.get(_request_page(answered.pk, action))
    assert response.status_code == 200
    text = _text(response)
    for shown in (
        answered.purpose,
        answered.justification,
        "Weekly counts of addon pairs, compared over time.",
        "A post on the KubeVela blog, aggregates only.",
        "Example University",
        "reports, rollups",
        "2026-01-01 to 2026-06-30",
        "90 days",
        "Data-use terms version 1",
        # the timeline: the reviewer's question and the applicant's answer
        "Which addons do you expect to compare?",
        "FluxCD against the Terraform addons.",
        "Answered by alice",
    ):
        assert shown in text, shown


def test_each_element_asked_for_shows_its_data_dictionary_entry(client, maintainer, answered):
    client.force_login(maintainer)
    response = client.get(_request_page(answered.pk, "approve"))
    html = response.content.decode()
    for key in answered.elements:
        entry = dictionary_entry(key, answered.policy_version)
        assert entry is not None
        assert f'href="/dictionary/#element-{key}"' in html
        article = re.search(
            rf'<article class="review-element" id="review-element-{key}">(.*?)</article>',
            html,
            re.S,
        )
        assert article, key
        shown = unescape(article.group(1))
        assert entry.title in shown
        assert entry.fields, key
        for stored in entry.fields:
            assert f"<code>{stored.name}</code>" in shown, (key, stored.name)


def test_the_decision_forms_list_the_applicants_other_requests_and_grants(
    client, applicant, maintainer
):
    earlier = file_request(applicant, purpose="An earlier study of addon adoption")
    grant = services.access_request_approve(request=earlier, reviewer=maintainer)
    current = file_request(applicant, purpose="A second look at release adoption")
    client.force_login(maintainer)
    response = client.get(_request_page(current.pk, "reject"))
    html = response.content.decode()
    assert f'href="{_request_page(earlier.pk)}"' in html
    assert f'href="/admin/access_requests/grant/{grant.pk}/change/"' in html
    assert f"until {grant.expires_at:%Y-%m-%d}" in _text(response)


def test_a_first_request_says_so_beside_the_form(client, maintainer, answered):
    client.force_login(maintainer)
    text = _text(client.get(_request_page(answered.pk, "approve")))
    assert "None: this is their first request." in text


def test_an_approved_requests_page_shows_what_was_granted(
    client, applicant, maintainer, monkeypatch
):
    monkeypatch.setattr(export_services, "export_enqueue", lambda *, export_id: True)
    filed = file_request(applicant, elements=["enableAddonList", "platformID", "version"])
    grant = services.access_request_approve(
        request=filed,
        reviewer=maintainer,
        elements=["platformID", "version"],
        datasets=["reports"],
        period_start=date(2026, 2, 1),
        period_end=date(2026, 2, 28),
        duration_days=30,
    )
    services.token_mint(grant=grant, user=applicant, name="notebook")
    services.token_mint(grant=grant, user=applicant, name="laptop")
    services.export_request(grant=grant, user=applicant, file_format="csv")
    client.force_login(maintainer)
    response = client.get(_request_page(filed.pk))
    html = response.content.decode()
    granted = re.search(r'<section class="review-granted".*?</section>', html, re.S)
    assert granted, "no granted scope on the page"
    text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", granted.group(0))))
    assert f"Grant #{grant.pk} active" in text
    assert "Data reports " in text
    assert "Elements platformID, version " in text
    assert "Period of data 2026-02-01 to 2026-02-28" in text
    assert f"Expires {grant.expires_at:%Y-%m-%d}" in text
    assert "Read tokens 2 (2 usable)" in text
    assert "Exports 1" in text
    assert f'href="/admin/access_requests/grant/{grant.pk}/change/"' in granted.group(0)


def test_the_granted_scope_says_when_a_grant_ended_or_was_revoked(client, applicant, maintainer):
    filed = file_request(applicant)
    grant = services.access_request_approve(request=filed, reviewer=maintainer)
    client.force_login(maintainer)
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(days=1))
    assert "badge-state-ended" in client.get(_request_page(filed.pk)).content.decode()
    grant.refresh_from_db()
    services.grant_revoke(grant=grant, actor=maintainer, reason="The study ended.")
    page = client.get(_request_page(filed.pk)).content.decode()
    assert "badge-state-revoked" in page and "The study ended." in page


def test_a_pending_request_shows_no_granted_scope(client, maintainer, answered):
    client.force_login(maintainer)
    assert "review-granted" not in client.get(_request_page(answered.pk)).content.decode()


@pytest.fixture
def renewal(applicant, maintainer):
    """Alice's renewal of her grant, asking for one more element and a longer period."""
    first = file_request(
        applicant, purpose="Addon adoption, first quarter", elements=["platformID", "version"]
    )
    grant = services.access_request_approve(request=first, reviewer=maintainer, duration_days=60)
    asked = file_request(
        applicant,
        purpose="Addon adoption, second quarter",
        elements=["enableAddonList", "platformID", "version"],
        period_end=date(2026, 9, 30),
        duration_days=90,
    )
    AccessRequest.objects.filter(pk=asked.pk).update(renewal_of=grant)
    asked.refresh_from_db()
    return first, grant, asked


def test_a_renewal_is_marked_in_the_queue(client, maintainer, renewal):
    first, grant, asked = renewal
    client.force_login(maintainer)
    rows = _queue_rows(client.get(f"{QUEUE}?status=all"))
    assert f"Renewal of grant #{grant.pk}" in rows[asked.pk]
    assert "Renewal of grant" not in rows[first.pk]


@pytest.mark.parametrize("view", ["change", "approve"])
def test_a_renewals_page_shows_the_original_grant_beside_what_is_asked(
    client, maintainer, renewal, view
):
    first, grant, asked = renewal
    client.force_login(maintainer)
    response = client.get(_request_page(asked.pk, view))
    html = response.content.decode()
    section = re.search(r'<section class="review-renewal".*?</section>', html, re.S)
    assert section, "no renewal comparison"
    assert f'href="{_request_page(first.pk)}"' in section.group(0)
    assert f'href="/admin/access_requests/grant/{grant.pk}/change/"' in section.group(0)
    rows = {
        label: (then, now)
        for label, then, now in re.findall(
            r'<th scope="row">(.*?)</th><td>(.*?)</td>'
            r"<td>(.*?)(?: <span[^>]*>changed</span>)?</td>",
            section.group(0),
        )
    }
    assert rows["Elements"] == ("platformID, version", "enableAddonList, platformID, version")
    assert rows["Period of data"] == ("2026-01-01 to 2026-06-30", "2026-01-01 to 2026-09-30")
    assert rows["Access for (days)"] == ("60", "90")
    assert rows["Data"] == ("reports, rollups", "reports, rollups")
    changed = re.findall(r'<tr class="changed"><th scope="row">(.*?)</th>', section.group(0))
    assert changed == ["Elements", "Period of data", "Access for (days)"]


def test_a_request_that_is_no_renewal_shows_no_comparison(client, maintainer, answered):
    client.force_login(maintainer)
    assert "review-renewal" not in client.get(_request_page(answered.pk)).content.decode()


def test_the_queue_opens_on_open_requests_oldest_first(
    client, applicant, other_applicant, maintainer
):
    newer = file_request(applicant, purpose="Newer")
    older = file_request(other_applicant, purpose="Older")
    AccessRequest.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(days=3))
    approved = file_request(applicant, purpose="Decided")
    services.access_request_approve(request=approved, reviewer=maintainer)
    withdrawn = file_request(other_applicant, purpose="Withdrawn")
    services.access_request_withdraw(request=withdrawn, applicant=other_applicant)
    client.force_login(maintainer)

    def shown(query: str = "") -> list[int]:
        return [row.pk for row in client.get(QUEUE + query).context["cl"].result_list]

    assert shown() == [older.pk, newer.pk]
    assert shown("?status=open") == [older.pk, newer.pk]
    assert shown("?status=closed") == [approved.pk, withdrawn.pk]
    assert shown("?status=all") == [older.pk, newer.pk, approved.pk, withdrawn.pk]
    assert shown("?status=approved") == [approved.pk]
    choices = _text(client.get(QUEUE))
    assert "Open: awaiting a decision" in choices and "All requests" in choices


def test_overdue_is_a_badge_on_overdue_rows_only(client, applicant, other_applicant, maintainer):
    late = file_request(applicant, purpose="Waiting too long")
    AccessRequest.objects.filter(pk=late.pk).update(created_at=timezone.now() - timedelta(days=30))
    file_request(other_applicant, purpose="Filed today")
    client.force_login(maintainer)
    response = client.get(QUEUE)
    html = response.content.decode()
    assert html.count('class="badge badge-overdue"') == 1
    assert "badge-overdue" in _queue_rows(response)[late.pk]
    # no icon in the overdue column, for either row
    assert "icon-no.svg" not in html and "icon-yes.svg" not in html


def test_every_decision_page_has_complete_breadcrumbs(client, maintainer, answered):
    client.force_login(maintainer)
    for view, action in (("approve", "Approve"), ("reject", "Reject")):
        assert _breadcrumbs(client.get(_request_page(answered.pk, view))) == [
            ("Home", "/admin/"),
            (ACCESS_APP, "/admin/access_requests/"),
            ("Access requests", QUEUE),
            (f"Request #{answered.pk}: {answered.purpose}", _request_page(answered.pk)),
            (action, None),
        ]
    steps = _breadcrumbs(client.get(_request_page(answered.pk, "ask-info")))
    assert steps[-1] == ("Ask for more information", None) and len(steps) == 5


def test_the_revoke_page_has_complete_breadcrumbs(client, applicant, maintainer):
    grant = services.access_request_approve(request=file_request(applicant), reviewer=maintainer)
    client.force_login(maintainer)
    response = client.get(f"/admin/access_requests/grant/{grant.pk}/revoke/")
    assert _breadcrumbs(response) == [
        ("Home", "/admin/"),
        (ACCESS_APP, "/admin/access_requests/"),
        ("Grants", "/admin/access_requests/grant/"),
        (str(grant), f"/admin/access_requests/grant/{grant.pk}/change/"),
        ("Revoke", None),
    ]
    assert f"Grant #{grant.pk} active" in _text(response)


def test_the_client_drift_page_has_complete_breadcrumbs(client, maintainer):
    client.force_login(maintainer)
    assert _breadcrumbs(client.get("/admin/ingest/discardedfieldcount/")) == [
        ("Home", "/admin/"),
        (apps.get_app_config("ingest").verbose_name, "/admin/ingest/"),
        ("Client drift", None),
    ]
