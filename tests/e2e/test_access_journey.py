"""Acceptance of the access process in a real browser: sign up, verify, file, approve,
register; then the member's pages: the request's page, a token, a renewal, an edit, the
similar-request warning, and a withdrawal after its confirmation."""

import re

import pytest
from playwright.sync_api import expect

from access_requests.models import AccessRequest
from tests.access_requests.factories import JUSTIFICATION
from tests.e2e.conftest import (
    admin_sign_in,
    approve_in_admin,
    axe_violations,
    file_access_request,
    mint_token,
    screenshot,
    sideways_overflow,
    sign_up_and_verify,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-Passphrase-9"


def test_a_member_requests_access_and_a_maintainer_approves(
    browser, live_server, maintainer, celery_eager, export_media
):
    url = live_server.url
    member = browser.new_context(viewport={"width": 1280, "height": 900})
    page = member.new_page()

    sign_up_and_verify(
        page,
        url,
        "newcomer@example.org",
        PASSWORD,
        ("access-1-sign-up", "access-2-verify-your-email"),
    )

    page.goto(f"{url}/access/request/")
    file_access_request(
        page,
        form={
            "Purpose": "Which addons are used together",
            "Justification": JUSTIFICATION,
            "Intended use": "Weekly counts of addon pairs, compared over time.",
            "Publication plans": "A post on the KubeVela blog.",
            "Affiliation": "Example University",
            "Data from": "2026-01-01",
            "Data to": "2026-06-30",
            "Access for (days)": "60",
        },
        datasets=["Daily rollups"],
        elements=["enableAddonList"],
        shots=("access-3-request-form", "access-4-request-filed"),
    )
    filed = AccessRequest.objects.get()

    reviewer, admin = admin_sign_in(browser, url, "maria")
    approve_in_admin(
        admin,
        url,
        filed.pk,
        days=30,
        shots=("access-6-approve-form", "access-6b-after-approve"),
        queue_shot="access-5-review-queue",
    )

    # The overview lists the request; its page has the grant.
    page.goto(f"{url}/access/")
    expect(page.locator(".request-card .status")).to_have_text("Approved")
    checked(page, "access-7-overview")
    page.get_by_role("link", name=re.compile(rf"#{filed.pk}: Which addons")).click()
    expect(page).to_have_url(f"{url}/access/requests/{filed.pk}/")
    expect(page.get_by_role("heading", name="What was granted")).to_be_visible()
    expect(page.locator(".grant-state")).to_have_text("active")
    checked(page, "access-7b-request-page-approved")
    page.goto(f"{url}/access/register/")
    expect(page.get_by_role("rowheader", name="Which addons are used together")).to_be_visible()
    screenshot(page, "access-8-public-register")
    filed.refresh_from_db()
    assert filed.status == "approved" and filed.grant.elements == ["enableAddonList"]
    grant = filed.grant

    secret = mint_token(page, url, "analysis notebook", filed.pk)
    assert secret.startswith("tvt_")
    expect(page.get_by_role("button", name="Copy to the clipboard")).to_be_visible()
    expect(page.locator("pre.recipe")).to_contain_text(f"Bearer {secret}")
    checked(page, "access-9-token-shown-once")
    page.get_by_role("link", name=f"Back to request #{filed.pk}").click()
    expect(page.get_by_text(secret[:10] + "…").first).to_be_visible()
    assert secret not in page.content()

    # A renewal, filled in from the grant, is a new request that names the grant.
    page.get_by_role("link", name="Request renewal").click()
    expect(page.get_by_role("heading", name=f"Renew grant #{grant.pk}")).to_be_visible()
    expect(page.get_by_label("Purpose")).to_have_value("Which addons are used together")
    expect(
        page.get_by_role("checkbox", name="Enabled addons (what it holds)", exact=True)
    ).to_be_checked()
    page.get_by_label("I accept the data-use terms above").check()
    checked(page, "access-10-renewal-form")
    page.get_by_role("button", name="File the renewal").click()
    expect(page.get_by_text("was filed")).to_be_visible()
    renewal = AccessRequest.objects.get(renewal_of=grant)
    expect(page.get_by_text(f"Renewal of grant #{grant.pk}")).to_be_visible()
    expect(page.get_by_role("link", name=f"request #{filed.pk}")).to_be_visible()
    checked(page, "access-11-renewal-filed")

    # While it waits, the member edits it; the timeline says what changed.
    page.get_by_role("link", name="Edit this request").click()
    expect(page.get_by_label("Purpose")).to_have_value("Which addons are used together")
    page.get_by_label("Purpose").fill("Which addons are used together, a second quarter")
    checked(page, "access-12-edit-form")
    page.get_by_role("button", name="Save the changes").click()
    expect(page.get_by_text(f"Request #{renewal.pk} is updated.")).to_be_visible()
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("Edited by the applicant: Changed: purpose.")
    checked(page, "access-13-edited")

    # Filing much the same again warns, names the open request, and files once ticked.
    page.goto(f"{url}/access/request/")
    file_form = {
        "Purpose": "The same study again",
        "Justification": JUSTIFICATION,
        "Intended use": "Weekly counts of addon pairs.",
        "Affiliation": "Example University",
        "Data from": "2026-01-01",
        "Data to": "2026-06-30",
        "Access for (days)": "30",
    }
    for label, value in file_form.items():
        page.get_by_label(label).fill(value)
    page.get_by_label("Daily rollups").check()
    page.get_by_role("checkbox", name="Enabled addons (what it holds)", exact=True).check()
    page.get_by_label("I accept the data-use terms above").check()
    page.get_by_role("button", name="File the request").click()
    warning = page.locator(".similar-warning")
    expect(warning).to_contain_text("You already have an open request for much the same data")
    expect(
        warning.get_by_role("link", name=re.compile(rf"Request #{renewal.pk}: "))
    ).to_be_visible()
    checked(page, "access-14-similar-warning")
    page.get_by_label(re.compile("want to file this one as well")).check()
    page.get_by_role("button", name="File the request").click()
    expect(page.get_by_text("was filed")).to_be_visible()
    second = AccessRequest.objects.exclude(pk__in=[filed.pk, renewal.pk]).get()

    # Withdrawing asks first; "Keep it" keeps it.
    page.get_by_role("link", name="Withdraw this request…").click()
    expect(page.get_by_role("heading", name=f"Withdraw request #{second.pk}?")).to_be_visible()
    checked(page, "access-15-withdraw-confirmation")
    page.get_by_role("link", name="Keep it").click()
    expect(page).to_have_url(f"{url}/access/requests/{second.pk}/")
    second.refresh_from_db()
    assert second.status == "submitted"
    page.get_by_role("link", name="Withdraw this request…").click()
    page.get_by_role("button", name=f"Withdraw request #{second.pk}").click()
    expect(page.get_by_text(f"Request #{second.pk} is withdrawn.")).to_be_visible()
    expect(page.locator("h1 .status")).to_have_text("Withdrawn")
    second.refresh_from_db()
    assert second.status == "withdrawn"

    # The original request's timeline records the renewal; the overview filters by state.
    page.goto(f"{url}/access/requests/{filed.pk}/")
    expect(page.locator("ol.timeline")).to_contain_text(
        f"Renewal requested: Renewal requested as request #{renewal.pk}."
    )
    checked(page, "access-16-original-with-renewal")
    page.goto(f"{url}/access/")
    page.get_by_label("Show").select_option("open")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(".request-card")).to_have_count(1)
    expect(page.locator(".request-card")).to_contain_text(f"renewal of grant #{grant.pk}")
    checked(page, "access-17-overview-open")
    member.close()
    reviewer.close()


def checked(page, name: str) -> None:
    """Screenshots at desktop and phone widths; axe-core finds nothing, and at 390 px
    nothing scrolls sideways."""
    violations = axe_violations(page)
    assert violations is None, f"{name}: {violations}"
    screenshot(page, name)
    overflow = sideways_overflow(page)
    screenshot(page, f"{name}-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    assert overflow <= 0, f"{name}: {overflow}px wider than the phone"
