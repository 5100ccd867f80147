"""Acceptance of the access process in a real browser: sign up, verify, file, approve, register."""

import pytest
from playwright.sync_api import expect

from access_requests.models import AccessRequest
from tests.access_requests.factories import JUSTIFICATION
from tests.e2e.conftest import (
    admin_sign_in,
    approve_in_admin,
    file_access_request,
    mint_token,
    screenshot,
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

    page.goto(f"{url}/access/")
    expect(page.get_by_text("Approved", exact=True).first).to_be_visible()
    expect(page.get_by_text("Granted:")).to_be_visible()
    screenshot(page, "access-7-applicant-sees-approval")
    page.goto(f"{url}/access/register/")
    expect(page.get_by_role("rowheader", name="Which addons are used together")).to_be_visible()
    screenshot(page, "access-8-public-register")
    filed.refresh_from_db()
    assert filed.status == "approved" and filed.grant.elements == ["enableAddonList"]

    secret = mint_token(page, url, "analysis notebook")
    assert secret.startswith("tvt_")
    expect(page.get_by_role("button", name="Copy to the clipboard")).to_be_visible()
    screenshot(page, "access-9-token-shown-once")
    page.goto(f"{url}/access/")
    expect(page.get_by_text(secret[:10] + "…").first).to_be_visible()
    assert secret not in page.content()
    member.close()
    reviewer.close()
