"""Headless Chromium (Debian's package) driven by Playwright, against the live server."""

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from access_requests.forms import ALWAYS_INCLUDED_NOTE as ALWAYS
from ingest.catalogue import REQUIRED_KEYS
from ingest.dictionary import dictionary_entry
from tests.personas import PASSWORD, PERSONAS
from tests.support import ROOT, require_service

SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    for candidate in (
        os.environ.get("CHROMIUM_PATH"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    require_service("Chromium (apt-get install chromium)", path is not None)
    # Playwright's sync API runs an event loop in this thread; Django's ORM is only
    # used by the test itself between browser calls, never concurrently.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# --- steps the browser journeys share ----------------------------------------------------


def confirmation_link(address: str, live_url: str) -> str:
    """The verification link of the latest email to the address, on the live server.

    The link is built from PUBLIC_BASE_URL, which is not the live server's address."""
    from django.core import mail

    message = next(m for m in reversed(mail.outbox) if address in m.to)
    path = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", message.body).group(1)
    return f"{live_url}{path}"


def sign_up_and_verify(page, url: str, email: str, password: str, shots: tuple[str, str]):
    """Sign up from /access/, then follow the emailed link (screenshots: form, after).

    Confirming the address in the browser that signed up signs the member in."""
    page.goto(f"{url}/access/")
    page.get_by_role("link", name="Sign up").first.click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password:", exact=True).fill(password)
    page.get_by_label("Password (again):").fill(password)
    screenshot(page, shots[0])
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()
    screenshot(page, shots[1])
    page.goto(confirmation_link(email, url))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def sign_in(page, url: str, email: str, password: str, next_path: str) -> None:
    page.goto(f"{url}/accounts/login/?next={next_path}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password:", exact=True).fill(password)
    page.get_by_role("button", name="Sign In").click()


def admin_sign_in(browser, url: str, username: str):
    """A new browser context where the persona is signed in to the admin: (context, page).

    The admin has no sign-in form of its own: it sends staff to the site's, with the email."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    admin = context.new_page()
    admin.goto(f"{url}/admin/")
    admin.get_by_label("Email").fill(PERSONAS[username].email)
    admin.get_by_label("Password:", exact=True).fill(PASSWORD)
    admin.get_by_role("button", name="Sign In").click()
    expect(admin).to_have_url(f"{url}/admin/")
    return context, admin


def file_access_request(page, *, form: dict, datasets: list[str], elements: list[str], shots):
    """On the request page: fill the form, accept the terms, file it (screenshots: the filled
    form, the page after). ``form`` maps the text fields' labels to their values."""
    for label, value in form.items():
        page.get_by_label(label).fill(value)
    for dataset in datasets:
        page.get_by_label(dataset, exact=True).check()
    for element in elements:
        # each element is labelled with its dictionary title and a link to its entry;
        # the two every daily-report row carries are ticked already, and cannot be unticked
        title = dictionary_entry(element).title
        if element in REQUIRED_KEYS:
            always = page.get_by_role("checkbox", name=f"{title} (what it holds) {ALWAYS}")
            expect(always).to_be_checked()
            expect(always).to_be_disabled()
            continue
        page.get_by_role("checkbox", name=f"{title} (what it holds)", exact=True).check()
    page.get_by_label("I accept the data-use terms above").check()
    screenshot(page, shots[0])
    page.get_by_role("button", name="File the request").click()
    expect(page.get_by_text("was filed")).to_be_visible()
    screenshot(page, shots[1])


def approve_in_admin(admin, url: str, request_pk: int, days: int, shots, queue_shot=None):
    """A maintainer's admin page approves the request for ``days`` days (screenshots: the
    approval form, the page after; the review queue first when ``queue_shot`` is given)."""
    admin.goto(f"{url}/admin/access_requests/accessrequest/")
    if queue_shot:
        screenshot(admin, queue_shot)
    admin.get_by_role("link", name=str(request_pk), exact=True).click()
    admin.get_by_role("link", name="Approve…").click()
    admin.get_by_label("Duration days").fill(str(days))
    screenshot(admin, shots[0])
    admin.get_by_role("button", name="Approve").click()
    expect(admin.get_by_text("approved. The grant is active")).to_be_visible()
    screenshot(admin, shots[1])


def mint_token(page, url: str, name: str, request_pk: int) -> str:
    """On the request's page: create a read token and read its secret, shown this once."""
    page.goto(f"{url}/access/requests/{request_pk}/")
    page.get_by_label("Token name").fill(name)
    page.get_by_role("button", name="Create a read token").click()
    expect(page.get_by_text("shown only once")).to_be_visible()
    return page.get_by_label(re.compile(f'Token "{re.escape(name)}"')).input_value()


def axe_violations(page) -> str | None:
    """The page's WCAG 2 A and AA violations, as axe-core reports them; None if there are none."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa"]}})
    return results.generate_report() if results.violations_count else None


def sideways_overflow(page, width: int = 390) -> int:
    """How many pixels the page is wider than a phone's ``width``, after reloading at it."""
    page.set_viewport_size({"width": width, "height": 844})
    return page.evaluate("document.documentElement.scrollWidth") - width
