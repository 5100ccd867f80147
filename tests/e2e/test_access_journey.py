"""Acceptance of the access process in a real browser: sign up, verify, file, approve, register."""

import re

import pytest
from playwright.sync_api import expect

from access_requests.models import AccessRequest
from tests.access_requests.factories import JUSTIFICATION
from tests.e2e.conftest import admin_sign_in, screenshot, sign_in, sign_up_and_verify

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
    sign_in(page, url, "newcomer@example.org", PASSWORD, "/access/request/")

    page.goto(f"{url}/access/request/")
    page.get_by_label("Purpose").fill("Which addons are used together")
    page.get_by_label("Justification").fill(JUSTIFICATION)
    page.get_by_label("Intended use").fill("Weekly counts of addon pairs, compared over time.")
    page.get_by_label("Publication plans").fill("A post on the KubeVela blog.")
    page.get_by_label("Affiliation").fill("Example University")
    page.get_by_label("Daily rollups").check()
    page.get_by_label("enableAddonList").check()
    page.get_by_label("Data from").fill("2026-01-01")
    page.get_by_label("Data to").fill("2026-06-30")
    page.get_by_label("Access for (days)").fill("60")
    page.get_by_label("I accept the data-use terms above").check()
    screenshot(page, "access-3-request-form")
    page.get_by_role("button", name="File the request").click()
    expect(page.get_by_text("was filed")).to_be_visible()
    screenshot(page, "access-4-request-filed")
    filed = AccessRequest.objects.get()

    reviewer, admin = admin_sign_in(browser, url, "maria")
    admin.goto(f"{url}/admin/access_requests/accessrequest/")
    screenshot(admin, "access-5-review-queue")
    admin.get_by_role("link", name=str(filed.pk), exact=True).click()
    admin.get_by_role("link", name="Approve…").click()
    admin.get_by_label("Duration days").fill("30")
    screenshot(admin, "access-6-approve-form")
    admin.get_by_role("button", name="Approve").click()
    screenshot(admin, "access-6b-after-approve")
    expect(admin.get_by_text("approved. The grant is active")).to_be_visible()

    page.goto(f"{url}/access/")
    expect(page.get_by_text("Approved", exact=True).first).to_be_visible()
    expect(page.get_by_text("Granted:")).to_be_visible()
    screenshot(page, "access-7-applicant-sees-approval")
    page.goto(f"{url}/access/register/")
    expect(page.get_by_role("rowheader", name="Which addons are used together")).to_be_visible()
    screenshot(page, "access-8-public-register")
    filed.refresh_from_db()
    assert filed.status == "approved" and filed.grant.elements == ["enableAddonList"]

    page.goto(f"{url}/access/")
    page.get_by_label("Token name").fill("analysis notebook")
    page.get_by_role("button", name="Create a read token").click()
    expect(page.get_by_text("shown only once")).to_be_visible()
    secret = page.get_by_label(re.compile('Token "analysis notebook"')).input_value()
    assert secret.startswith("tvt_")
    expect(page.get_by_role("button", name="Copy to the clipboard")).to_be_visible()
    screenshot(page, "access-9-token-shown-once")
    page.goto(f"{url}/access/")
    expect(page.get_by_text(secret[:10] + "…").first).to_be_visible()
    assert secret not in page.content()
    member.close()
    reviewer.close()
