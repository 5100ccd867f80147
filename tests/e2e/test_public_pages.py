"""The public pages in a real browser: self-contained, accessible, no JavaScript needed."""

from urllib.parse import urlparse

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from ingest.dictionary import dictionary_entries
from tests.e2e.conftest import screenshot, sign_in
from tests.personas import PASSWORD, PERSONAS

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
PAGES = {
    "home": "/",
    "policy": "/policy/",
    "dictionary": "/dictionary/",
    "stats": "/stats/?range=90",
}


@pytest.fixture
def fleet(transactional_db):
    call_command("generate_telemetry", installations=400, days=40, seed=7, verbosity=0)
    from datetime import timedelta

    from django.utils import timezone

    today = timezone.now().date()
    call_command("rollup", f"--from={today - timedelta(days=45)}", f"--to={today}", verbosity=0)


def test_the_public_pages_render_with_charts_and_fetch_nothing_elsewhere(page, live_server, fleet):
    server_host = urlparse(live_server.url).netloc
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    for name, path in PAGES.items():
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, name
        screenshot(page, f"public-{name}")
    assert requests
    foreign = [url for url in requests if urlparse(url).netloc not in (server_host, "")]
    assert foreign == [], f"requests to other hosts: {foreign}"

    page.goto(f"{live_server.url}/stats/?range=90")
    assert page.locator("svg.chart polyline").count() >= 2  # release lines over time
    bars = page.locator("svg.chart rect.chart-bar")
    assert bars.count() >= 20
    assert page.locator("table").count() >= 11
    assert page.get_by_role("heading", name="Addons enabled").is_visible()


def test_the_pages_work_without_javascript(browser, live_server, fleet):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/stats/")
    page.get_by_role("link", name="Last 365 days").click()
    assert "range=365" in page.url
    expect(page.get_by_role("link", name="Last 365 days")).to_have_attribute("aria-current", "page")
    assert page.locator("svg.chart rect.chart-bar").count() > 0
    page.get_by_label("From", exact=True).fill("2001-01-01")
    page.get_by_label("To", exact=True).fill("2000-01-01")
    page.get_by_role("button", name="Show").click()
    assert page.get_by_role("alert").inner_text() == (
        "The start date must not be after the end date."
    )
    assert page.get_by_label("From", exact=True).input_value() == "2001-01-01"  # kept to fix
    context.close()


def test_custom_dates_need_no_radio_button_and_win_over_a_preset(page, live_server, fleet):
    from datetime import timedelta

    from django.utils import timezone

    today = timezone.now().date()
    first, last = today - timedelta(days=20), today - timedelta(days=6)
    page.goto(f"{live_server.url}/stats/?range=365")
    page.get_by_label("From", exact=True).fill(first.isoformat())
    page.get_by_label("To", exact=True).fill(last.isoformat())
    page.get_by_role("button", name="Show").click()
    summary = page.locator(".range-summary").inner_text()
    assert summary.startswith(f"From {first.day} {first:%B %Y} to {last.day} {last:%B %Y}: 15 days")
    assert page.locator(".range-presets [aria-current]").count() == 0  # no preset is shown
    assert "Given dates always win" in page.locator("#range-rule").inner_text()
    screenshot(page, "visitors-stats-custom-range")


def test_every_bar_and_day_says_its_value_and_share_on_hover(page, live_server, fleet):
    page.goto(f"{live_server.url}/stats/?range=90")
    rows = page.locator("svg.chart-bars g.chart-row")
    assert rows.count() >= 20
    first = page.locator("table").nth(1).locator("tbody tr").first  # release lines' table
    label = first.locator("th").inner_text()
    average = first.locator("td").nth(0).inner_text()
    share = first.locator("td").nth(1).inner_text()
    title = page.locator("#release_minor-heading ~ div svg g.chart-row title").first
    assert title.text_content().startswith(
        f"{label}: {average} installations reporting a day on average (±"
    )
    assert f", {share} of reporting installations (±" in title.text_content()
    assert share.endswith("%")
    assert page.locator("svg.chart-bars .chart-unit").first.text_content() == (
        "Installations reporting per day (average) · share"
    )
    assert page.locator("svg.chart-wide .chart-unit").text_content() == (
        "Installations reporting per day"
    )
    days = page.locator("svg.chart-wide rect.chart-hit title")
    assert days.count() >= 40  # one per day the fleet reported (40 days)
    assert "installations reporting (each ±" in days.first.text_content()
    page.locator("svg.chart-bars g.chart-row").first.hover()
    screenshot(page, "visitors-stats-hover")


def test_the_pages_pass_an_automated_accessibility_check(page, live_server, fleet):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    for name, path in PAGES.items():
        page.goto(f"{live_server.url}{path}")
        results = axe.run(
            page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa"]}}
        )
        assert results.violations_count == 0, f"{name}: {results.generate_report()}"


def test_every_response_carries_a_same_origin_content_security_policy(client, fleet):
    for path in PAGES.values():
        policy = client.get(path)["Content-Security-Policy"]
        assert "default-src 'self'" in policy
        assert "script-src 'self'" in policy
        assert "http" not in policy  # no other origin is allowed


def test_the_api_docs_render_under_the_sites_own_csp(page, live_server):
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text)
            if "Content Security Policy" in message.text
            or "Content-Security-Policy" in message.text
            else None
        ),
    )
    response = page.goto(f"{live_server.url}/api/docs/")
    assert response.status == 200
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    title = page.locator(".swagger-ui .info .title")
    title.wait_for(timeout=15_000)
    assert "KubeVela telemetry portal API" in title.inner_text()
    assert page.locator(".opblock").count() >= 10  # the operations are listed
    assert page.evaluate("getComputedStyle(document.body).margin") == "0px"  # page style kept
    screenshot(page, "api-docs")
    assert violations == []


def _axe_violations(page) -> tuple[int, str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa"]}})
    return results.violations_count, results.generate_report()


def test_the_data_dictionary_fits_a_phone_and_passes_axe(browser, live_server):
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    page = phone.new_page()
    page.goto(f"{live_server.url}/dictionary/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    count, report = _axe_violations(page)
    assert count == 0, report
    screenshot(page, "public-dictionary-phone")
    entries = dictionary_entries()
    toc = page.get_by_role("navigation", name="On this page")
    for entry in entries:
        expect_section = page.locator(f"#{entry.anchor}")
        assert expect_section.count() == 1, entry.key
        assert toc.get_by_role("link", name=entry.title, exact=True).count() == 1
    toc.get_by_role("link", name="Browser", exact=True).click()
    assert page.url.endswith("#element-browserInfo")
    section = page.locator("#element-browserInfo")
    assert section.is_visible()
    assert "Approved in version 1" in section.get_by_role("heading", level=2).inner_text()
    assert section.locator("td.values code", has_text="chrome").count() == 1
    phone.close()


def test_the_request_form_links_each_element_to_its_dictionary_entry(page, live_server, applicant):
    sign_in(page, live_server.url, PERSONAS["alice"].email, PASSWORD, "/access/request/")
    page.goto(f"{live_server.url}/access/request/")
    elements = page.get_by_role("group", name="Data elements")
    assert elements.get_by_role("checkbox", name="Most-used definitions (what it holds)").count()
    screenshot(page, "request-form-elements")
    elements.get_by_role("link", name="(what it holds)").nth(0).click()
    page.wait_for_url("**/dictionary/#element-*")
    anchor = page.url.rsplit("#", 1)[1]
    assert page.locator(f"#{anchor}").is_visible()
