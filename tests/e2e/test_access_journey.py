"""Acceptance of the access process in a real browser: sign up, verify, file, approve, register."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from access_requests.models import AccessRequest
from tests.access_requests.factories import JUSTIFICATION, UserFactory
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-Passphrase-9"


@pytest.fixture
def maintainer(transactional_db):
    from tests.access_requests.conftest import _ensure_roles

    _ensure_roles()
    return UserFactory(
        username="maria", email="maria@example.org", is_staff=True, groups=["maintainers"]
    )


def _confirmation_link(address: str) -> str:
    message = next(m for m in reversed(mail.outbox) if address in m.to)
    return re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body).group(0)


def test_a_member_requests_access_and_a_maintainer_approves(
    browser, live_server, maintainer, celery_eager, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "exports"},
        },
    }
    url = live_server.url
    member = browser.new_context(viewport={"width": 1280, "height": 900})
    page = member.new_page()

    page.goto(f"{url}/access/")
    page.get_by_role("link", name="Sign up").first.click()
    page.get_by_label("Email").fill("newcomer@example.org")
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again):").fill(PASSWORD)
    screenshot(page, "access-1-sign-up")
    page.get_by_role("button", name="Sign Up").click()
    screenshot(page, "access-2-verify-your-email")

    page.goto(_confirmation_link("newcomer@example.org").replace("http://testserver", url))
    page.get_by_role("button", name="Confirm").click()
    page.goto(f"{url}/accounts/login/?next=/access/request/")
    page.get_by_label("Email").fill("newcomer@example.org")
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()

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

    reviewer = browser.new_context(viewport={"width": 1280, "height": 900})
    admin = reviewer.new_page()
    admin.goto(f"{url}/admin/login/")
    admin.get_by_label("Username").fill("maria")
    admin.get_by_label("Password").fill("correct-horse-battery")
    admin.get_by_role("button", name="Log in").click()
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
