"""Switching between English and Simplified Chinese in a real browser, with and without
JavaScript, at desktop and phone width; both languages pass the accessibility check."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import SCREENSHOTS, screenshot

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
HEADING_EN = "What KubeVela's telemetry collects, and who can see it"
HEADING_ZH = "KubeVela 的遥测收集哪些数据，谁能看到"  # noqa: RUF001 - Chinese punctuation


def test_a_visitor_switches_to_chinese_and_back_without_javascript(browser, live_server):
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/policy/")
    assert page.locator("html").get_attribute("lang") == "en"

    page.get_by_role("button", name="简体中文").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("政策历史")
    assert page.url == f"{live_server.url}/policy/"  # back to the page it was on
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert any(
        c["name"] == "django_language" and c["value"] == "zh-hans" for c in context.cookies()
    )

    page.get_by_role("link", name="收集哪些数据").click()  # the choice holds on every page
    expect(page.get_by_role("heading", level=1)).to_have_text(HEADING_ZH)
    screenshot(page, "i18n-home-zh-1280")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    switch = page.get_by_role("button", name="English")
    expect(switch).to_be_visible()
    box = switch.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390
    screenshot(page, "i18n-home-zh-390")
    page.screenshot(path=str(SCREENSHOTS / "i18n-home-zh-390-first-screen.png"))

    switch.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(HEADING_EN)
    assert page.locator("html").get_attribute("lang") == "en"
    context.close()


def test_a_chinese_browser_gets_chinese_pages(browser, live_server):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(HEADING_ZH)
    page.goto(f"{live_server.url}/accounts/signup/")
    expect(page.get_by_role("heading", level=1)).to_have_text("注册")  # allauth's own page
    screenshot(page, "i18n-sign-up-zh")
    context.close()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_both_languages_pass_the_accessibility_check(browser, live_server, language):
    from axe_playwright_python.sync_playwright import Axe

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    axe = Axe()
    for path in ("/", "/policy/", "/access/register/", "/accounts/login/"):
        page.goto(f"{live_server.url}{path}")
        results = axe.run(
            page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa"]}}
        )
        assert results.violations_count == 0, f"{language} {path}: {results.generate_report()}"
    context.close()
