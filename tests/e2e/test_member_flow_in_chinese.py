"""A member walks the access flow in Simplified Chinese in a real browser: signs in, turns
the pages to Chinese with the switcher, files a request from the Chinese form, reads the
request's page and the withdraw confirmation, and gets the email in Chinese. A Chinese
browser reads the data dictionary and the statistics in Chinese."""

import pytest
from django.core import mail
from playwright.sync_api import expect

from access_requests.models import AccessRequest, Profile
from tests.access_requests.factories import JUSTIFICATION
from tests.e2e.conftest import SCREENSHOTS, screenshot, sign_in
from tests.personas import PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_member_files_a_request_in_chinese(browser, live_server, applicant):
    url = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, url, applicant.email, PASSWORD, "/access/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Access to the telemetry")

    page.get_by_role("button", name="简体中文").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("访问遥测数据")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert Profile.objects.get(user=applicant).language == "zh-hans"  # emails follow
    expect(page.get_by_text("您还没有提交过访问申请。")).to_be_visible()
    screenshot(page, "i18n-member-1-overview")

    page.get_by_role("link", name="提交新的申请").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("提交访问申请")
    for label, value in {
        "用途": "插件组合研究",
        "理由": JUSTIFICATION,
        "预期用途": "每周统计插件组合。",
        "发表计划": "在 KubeVela 博客上发表一篇文章。",
        "所属机构": "示例大学",
        "数据起始日期": "2026-01-01",
        "数据截止日期": "2026-06-30",
        "访问期限（天）": "60",  # noqa: RUF001 - Chinese punctuation
    }.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("每日汇总").check()
    page.get_by_role("checkbox", name="已启用的插件 （包含什么）", exact=True).check()  # noqa: RUF001
    page.get_by_label("我接受以上数据使用条款").check()
    screenshot(page, "i18n-member-2-request-form")
    page.get_by_role("button", name="提交申请").click()

    filed = AccessRequest.objects.get(applicant=applicant)
    expect(page.get_by_text(f"访问申请 #{filed.pk} 已提交。")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        f"访问申请 #{filed.pk}：插件组合研究"  # noqa: RUF001 - Chinese punctuation
    )
    expect(page.get_by_role("heading", name="申请内容")).to_be_visible()
    expect(page.get_by_role("heading", name="时间线")).to_be_visible()
    expect(page.locator(".timeline strong").first).to_have_text("已提交")
    screenshot(page, "i18n-member-3-request-page")

    page.get_by_role("link", name="撤回此申请…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"撤回访问申请 #{filed.pk}？")  # noqa: RUF001
    screenshot(page, "i18n-member-4-withdraw-confirm")

    (email,) = [m for m in mail.outbox if m.to == [applicant.email]]
    assert email.subject == f"已收到您的访问申请 #{filed.pk}"
    assert email.body.startswith("您好：")  # noqa: RUF001
    context.close()


def test_a_chinese_browser_reads_the_dictionary_and_the_statistics(browser, live_server):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/dictionary/")
    expect(page.get_by_role("heading", level=1)).to_have_text("数据字典")
    expect(page.get_by_role("heading", name="每一行都有的字段")).to_be_visible()
    screenshot(page, "i18n-dictionary-zh")
    page.screenshot(path=str(SCREENSHOTS / "i18n-dictionary-zh-first-screen.png"))
    page.goto(f"{live_server.url}/stats/")
    expect(page.get_by_role("heading", level=1)).to_have_text("社区从遥测中了解到什么")
    expect(page.get_by_role("link", name="最近 90 天")).to_be_visible()
    screenshot(page, "i18n-stats-zh")
    page.screenshot(path=str(SCREENSHOTS / "i18n-stats-zh-first-screen.png"))
    page.get_by_role("heading", name="这些数字如何受到保护").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "i18n-stats-zh-privacy.png"))
    context.close()
