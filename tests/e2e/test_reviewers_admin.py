"""The reviewers' admin in a real browser, at 1280 by 800: the queue, a renewal beside its
grant, the decision forms with the whole request, the granted scope, the policy editor's
width and refusal at save, and what an auditor is not offered."""

from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from access_requests import services
from access_requests.models import AccessRequest
from ingest.models import PolicyVersion
from ingest.services import policy_version_draft
from tests.access_requests.factories import file_request
from tests.e2e.conftest import admin_sign_in, screenshot
from tests.personas import persona_create

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
VIEWPORT = {"width": 1280, "height": 800}


def _csp_violations(page) -> list[str]:
    """Console messages about the Content Security Policy, collected as the page runs."""
    seen: list[str] = []
    page.on(
        "console",
        lambda message: (
            seen.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return seen


def _sign_in(browser, url: str, username: str):
    context, admin = admin_sign_in(browser, url, username)
    admin.set_viewport_size(VIEWPORT)
    return context, admin


def _horizontal_scroll(page) -> int:
    return page.evaluate(
        "document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth"
    )


@pytest.fixture
def queue(db):
    """alice's renewal of a grant, bob's overdue request with an answered question."""
    maria = persona_create("maria")
    persona_create("audrey")
    alice, bob = persona_create("alice"), persona_create("bob")
    first = file_request(
        alice, purpose="Addon adoption, first quarter", elements=["platformID", "version"]
    )
    grant = services.access_request_approve(request=first, reviewer=maria, duration_days=60)
    renewal = file_request(
        alice,
        purpose="Addon adoption, second quarter",
        elements=["enableAddonList", "platformID", "version"],
        period_end=date(2026, 9, 30),
    )
    AccessRequest.objects.filter(pk=renewal.pk).update(renewal_of=grant)
    late = file_request(
        bob,
        purpose="Which browsers reach VelaUX",
        intended_use="Share of browser families per release line, monthly.",
        publication_plans="A chart in the KubeVela community meeting notes.",
        affiliation="Example Cloud",
        elements=["browserInfo", "platformID", "version"],
    )
    services.access_request_ask_info(
        request=late, reviewer=maria, message="Do you need the screen width as well?"
    )
    services.access_request_answer(
        request=late, applicant=bob, message="Yes: we plan a chart of width bands."
    )
    AccessRequest.objects.filter(pk=late.pk).update(created_at=timezone.now() - timedelta(days=20))
    return {"first": first, "grant": grant, "renewal": renewal, "late": late}


def test_a_maintainer_reviews_a_renewal_and_an_overdue_request(browser, live_server, queue):
    url = live_server.url
    context, admin = _sign_in(browser, url, "maria")
    violations = _csp_violations(admin)

    admin.goto(f"{url}/admin/access_requests/accessrequest/")
    rows = admin.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)  # open requests only: the approved first one is not listed
    expect(rows.nth(0)).to_contain_text("Which browsers reach VelaUX")  # oldest first
    expect(rows.nth(0).locator(".badge-overdue")).to_have_text("Overdue")
    expect(rows.nth(1).locator(".badge-overdue")).to_have_count(0)
    expect(rows.nth(1).locator(".badge-renewal")).to_have_text(
        f"Renewal of grant #{queue['grant'].pk}"
    )
    expect(admin.locator("#result_list img")).to_have_count(0)  # no ✖ icon anywhere
    assert _horizontal_scroll(admin) == 0
    screenshot(admin, "admin-review-1-queue")

    admin.get_by_role("link", name="All requests").click()
    expect(rows).to_have_count(3)
    admin.goto(f"{url}/admin/access_requests/accessrequest/")

    # The renewal: its page puts the original grant beside what is asked now.
    admin.get_by_role("link", name=str(queue["renewal"].pk), exact=True).click()
    comparison = admin.locator(".review-renewal")
    expect(comparison).to_contain_text(f"grant #{queue['grant'].pk}")
    expect(comparison.locator("tr.changed")).to_have_count(3)
    expect(comparison.locator("tr.changed").first).to_contain_text("enableAddonList")
    assert _horizontal_scroll(admin) == 0
    screenshot(admin, "admin-review-2-renewal-page")

    # The overdue request's Ask form shows the whole request and the applicant's answer.
    admin.goto(f"{url}/admin/access_requests/accessrequest/{queue['late'].pk}/change/")
    admin.get_by_role("link", name="Ask for more information…").click()
    crumbs = admin.locator(".breadcrumbs a")
    expect(crumbs).to_have_count(4)
    expect(crumbs.nth(3)).to_have_text(f"Request #{queue['late'].pk}: Which browsers reach VelaUX")
    expect(admin.locator(".breadcrumbs")).to_contain_text("Ask for more information")
    summary = admin.locator(".review-main")
    expect(summary).to_contain_text("Share of browser families per release line, monthly.")
    expect(summary).to_contain_text("A chart in the KubeVela community meeting notes.")
    expect(summary.locator(".review-event-answered")).to_contain_text(
        "Yes: we plan a chart of width bands."
    )
    element = admin.locator("#review-element-browserInfo")
    expect(element.locator("a.review-dictionary-link")).to_have_attribute(
        "href", "/dictionary/#element-browserInfo"
    )
    expect(element.locator("table.review-fields code").first).to_be_visible()
    assert _horizontal_scroll(admin) == 0
    screenshot(admin, "admin-review-3-ask-form")

    # Approving: the form is styled like the portal's, then the page shows the grant.
    admin.goto(f"{url}/admin/access_requests/accessrequest/{queue['late'].pk}/approve/")
    submit = admin.get_by_role("button", name="Approve")
    assert submit.evaluate("b => getComputedStyle(b).borderRadius") == "4px"
    duration = admin.get_by_label("Duration days")
    assert duration.evaluate("i => i.getBoundingClientRect().width") > 250  # full width
    screenshot(admin, "admin-review-4-approve-form")
    duration.fill("30")
    submit.click()
    expect(admin.get_by_text("approved. The grant is active")).to_be_visible()
    granted = admin.locator(".review-granted")
    expect(granted.locator(".badge-state-active")).to_have_text("active")
    expect(granted).to_contain_text("browserInfo, platformID, version")
    expect(granted).to_contain_text("Read tokens")
    screenshot(admin, "admin-review-5-approved-page")
    assert violations == []
    context.close()


@pytest.fixture
def draft(db) -> PolicyVersion:
    persona_create("audrey")
    maria = persona_create("maria")
    return policy_version_draft(source=PolicyVersion.objects.get(number=1), actor=maria)


def test_the_policy_editor_fits_1280_and_refuses_what_cannot_be_stored(browser, live_server, draft):
    url = live_server.url
    context, admin = _sign_in(browser, url, "maria")
    violations = _csp_violations(admin)
    admin.goto(f"{url}/admin/ingest/policyversion/{draft.pk}/change/")
    width = admin.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 1280, f"the policy editor is {width} px wide"
    screenshot(admin, "admin-policy-1-editor-1280")

    region = admin.locator("tr.form-row", has=admin.locator("input[value=region]"))
    region.locator("select[name$=-decision]").select_option("approved")
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator(".errornote")).to_be_visible()
    expect(admin.get_by_text("The receiver cannot store region")).to_be_visible()
    assert admin.evaluate("document.scrollingElement.scrollWidth") <= 1280
    screenshot(admin, "admin-policy-2-refused-at-save")
    assert violations == []
    context.close()


def test_an_auditor_is_offered_no_decision_and_no_draft(browser, live_server, draft):
    url = live_server.url
    bob = persona_create("bob")
    pending = file_request(bob, purpose="A study an auditor only reads")
    context, admin = _sign_in(browser, url, "audrey")
    admin.goto(f"{url}/admin/ingest/policyversion/")
    expect(admin.locator("select[name=action]")).to_have_count(0)
    expect(admin.get_by_text("Draft a new version")).to_have_count(0)
    screenshot(admin, "admin-auditor-1-policy-list")
    admin.goto(f"{url}/admin/ingest/policyversion/{draft.pk}/change/")
    expect(admin.get_by_role("button", name="Save", exact=True)).to_have_count(0)
    admin.goto(f"{url}/admin/access_requests/accessrequest/{pending.pk}/change/")
    expect(admin.locator(".object-tools")).to_be_visible()
    for decision in ("Approve…", "Reject…", "Ask for more information…"):
        expect(admin.get_by_role("link", name=decision)).to_have_count(0)
    screenshot(admin, "admin-auditor-2-request-page")
    context.close()
