"""English and Simplified Chinese: the pages, the switcher, the member's language, emails.

Pages follow the language cookie, then Accept-Language; a member's emails follow the
language kept on their profile (set by the switcher and at sign-up).
"""

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

from access_requests import services
from access_requests.models import Profile
from tests.access_requests.factories import file_request
from tests.access_requests.helpers import grant_for
from tests.personas import PASSWORD

pytestmark = pytest.mark.django_db
CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
HOME_HEADING_ZH = "KubeVela 的遥测收集哪些数据，谁能看到"  # noqa: RUF001 - Chinese punctuation
LINK = re.compile(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)")


def html_lang(page: str) -> str:
    return re.search(r'<html lang="([^"]+)"', page).group(1)


# --- pages -----------------------------------------------------------------------------------


def test_the_home_page_reads_in_chinese_for_a_chinese_browser(client):
    response = client.get("/", **CHINESE)
    page = response.content.decode()
    assert html_lang(page) == "zh-Hans"
    assert response["Content-Language"] == "zh-hans"
    assert f"<h1>{HOME_HEADING_ZH}</h1>" in page
    assert "收集哪些数据" in page and "申请访问" in page  # the header's navigation
    assert "What is collected" not in page


def test_the_home_page_stays_in_english_by_default(client):
    page = client.get("/").content.decode()
    assert html_lang(page) == "en"
    assert "<h1>What KubeVela's telemetry collects, and who can see it</h1>" in page
    assert HOME_HEADING_ZH not in page


@pytest.mark.parametrize(
    "path", ["/", "/policy/", "/access/register/", "/accounts/login/", "/accounts/signup/"]
)
def test_the_public_and_account_pages_read_in_chinese(client, path):
    page = client.get(path, **CHINESE).content.decode()
    assert html_lang(page) == "zh-Hans"
    assert "KubeVela 遥测门户" in page  # the header
    assert "Skip to the content" not in page


def test_allauths_own_pages_are_in_chinese(client):
    page = client.get(reverse("account_login"), **CHINESE).content.decode()
    assert "登录" in page
    assert ">Sign In<" not in page


def test_the_header_offers_the_other_language_and_comes_back_to_the_same_page(client):
    page = client.get("/policy/").content.decode()
    form = re.search(r'<form method="post" action="/i18n/setlang/"[^>]*>.*?</form>', page, re.S)
    assert form, "no language switcher in the header"
    assert '<input type="hidden" name="next" value="/policy/">' in form.group()
    assert 'name="language" value="zh-hans" lang="zh-Hans"' in form.group()
    assert 'value="en"' not in form.group()  # the page's own language is not offered
    chinese = client.get("/policy/", **CHINESE).content.decode()
    assert 'name="language" value="en" lang="en"' in chinese


# --- the switcher ------------------------------------------------------------------------------


def test_switching_sets_the_language_cookie_and_the_pages_follow_it(client):
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/policy/"})
    assert (response.status_code, response["Location"]) == (302, "/policy/")
    assert client.cookies["django_language"].value == "zh-hans"
    assert html_lang(client.get("/").content.decode()) == "zh-Hans"
    # The cookie wins over the browser's own preference.
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert html_lang(client.get("/", **CHINESE).content.decode()) == "en"


def test_a_signed_in_member_who_switches_keeps_the_language_on_the_profile(client, applicant):
    client.force_login(applicant)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/access/"})
    assert Profile.objects.get(user=applicant).language == "zh-hans"
    client.post(reverse("set_language"), {"language": "en", "next": "/access/"})
    assert Profile.objects.get(user=applicant).language == "en"


def test_a_language_the_site_does_not_offer_changes_nothing(client, applicant):
    client.force_login(applicant)
    response = client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    assert response.status_code == 302
    assert "django_language" not in client.cookies
    assert not Profile.objects.filter(user=applicant).exclude(language="").exists()


def test_a_visitor_who_switches_gets_no_profile(client):
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert not Profile.objects.exists()


def test_the_switcher_does_not_send_a_visitor_to_another_site(client):
    response = client.post(
        reverse("set_language"), {"language": "zh-hans", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_the_switcher_only_takes_a_post(client):
    assert client.get(reverse("set_language"), {"language": "zh-hans"}).status_code == 405


# --- sign-up and verification ------------------------------------------------------------------


def sign_up(client, email: str, **headers):
    return client.post(
        reverse("account_signup"),
        {"email": email, "password1": PASSWORD, "password2": PASSWORD},
        **headers,
    )


def test_sign_up_records_the_pages_language_and_the_email_is_in_it(client, settings):
    settings.SITE_NAME = "Vela 遥测 test site"
    settings.PUBLIC_BASE_URL = "https://telemetry.example.net"
    sign_up(client, "xiaoming@example.org", **CHINESE)
    user = get_user_model().objects.get(email="xiaoming@example.org")
    assert Profile.objects.get(user=user).language == "zh-hans"
    (message,) = mail.outbox
    assert message.subject == "[Vela 遥测 test site] 请确认您的Email地址"
    assert "您好，这里是Vela 遥测 test site。" in message.body  # noqa: RUF001
    assert "https://telemetry.example.net/accounts/confirm-email/" in message.body
    assert message.body.rstrip().endswith("Vela 遥测 test site\nhttps://telemetry.example.net/")
    assert "127.0.0.1" not in message.body


def test_an_english_sign_up_gets_an_english_email_signed_with_the_site_name(client, settings):
    settings.SITE_NAME = "Example telemetry portal"
    settings.PUBLIC_BASE_URL = "https://telemetry.example.net"
    sign_up(client, "sam.smith@example.org")
    (message,) = mail.outbox
    assert message.subject == "[Example telemetry portal] Please Confirm Your Email Address"
    assert message.body.startswith("Hello from the Example telemetry portal.")
    assert message.body.rstrip().endswith(
        "The Example telemetry portal\nhttps://telemetry.example.net/"
    )
    links = re.findall(r"https?://\S+", message.body)
    assert links and all(link.startswith("https://telemetry.example.net/") for link in links)


def test_following_the_link_in_the_browser_that_signed_up_signs_the_member_in(client):
    sign_up(client, "newcomer@example.org")
    assert "_auth_user_id" not in client.session  # verification is mandatory
    link = LINK.search(mail.outbox[-1].body).group(1)
    response = client.post(link)
    assert (response.status_code, response["Location"]) == (302, reverse("access-home"))
    user = get_user_model().objects.get(email="newcomer@example.org")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert EmailAddress.objects.get(user=user).verified
    assert client.get(reverse("access-request-new")).status_code == 200


def test_following_the_link_in_another_browser_verifies_but_does_not_sign_in(client, rf):
    from django.test import Client

    sign_up(client, "newcomer@example.org")
    link = LINK.search(mail.outbox[-1].body).group(1)
    other = Client()
    response = other.post(link)
    # allauth signs in only the browser whose session holds the sign-up; elsewhere the
    # address is verified and the member is sent to the sign-in page.
    assert (response.status_code, response["Location"]) == (302, reverse("account_login"))
    assert "_auth_user_id" not in other.session
    assert EmailAddress.objects.get(email="newcomer@example.org").verified


# --- the access process's emails ---------------------------------------------------------------


def test_a_member_who_chose_chinese_gets_the_access_emails_in_chinese(
    applicant, maintainer, settings, django_capture_on_commit_callbacks
):
    settings.SITE_NAME = "Example telemetry portal"
    settings.PUBLIC_BASE_URL = "https://telemetry.example.net"
    services.profile_update(user=applicant, display_name="Xiaoming", affiliation="Example Org")
    Profile.objects.filter(user=applicant).update(language="zh-hans")
    with django_capture_on_commit_callbacks(execute=True):
        filed = file_request(applicant)
    by_recipient = {tuple(message.to): message for message in mail.outbox}
    to_member = by_recipient[(applicant.email,)]
    assert to_member.subject == f"已收到您的访问申请 #{filed.pk}"
    assert "我们已收到您的 KubeVela 遥测数据访问申请" in to_member.body
    assert "https://telemetry.example.net/access/" in to_member.body
    assert to_member.body.rstrip().endswith("Example telemetry portal")
    # The maintainers chose no language: English.
    to_maintainers = by_recipient[(maintainer.email,)]
    assert to_maintainers.subject == f"New access request #{filed.pk} to review"
    assert (
        f"https://telemetry.example.net/admin/access_requests/accessrequest/{filed.pk}/change/"
        in to_maintainers.body
    )


def test_a_member_without_a_language_gets_english_emails_named_for_the_site(
    applicant, settings, django_capture_on_commit_callbacks
):
    settings.SITE_NAME = "Example telemetry portal"
    with django_capture_on_commit_callbacks(execute=True):
        filed = file_request(applicant)
    (message,) = [m for m in mail.outbox if m.to == [applicant.email]]
    assert message.subject == f"Your access request #{filed.pk} was received"
    assert message.body.rstrip().endswith("The Example telemetry portal")
    assert "KubeVela telemetry portal" not in message.body


def test_recipients_of_one_email_each_get_their_own_language(
    applicant, maintainer, superuser, django_capture_on_commit_callbacks
):
    Profile.objects.create(user=superuser, language="zh-hans")
    with django_capture_on_commit_callbacks(execute=True):
        filed = file_request(applicant)
    subjects = {tuple(m.to): m.subject for m in mail.outbox if m.to != [applicant.email]}
    assert subjects == {
        (maintainer.email,): f"New access request #{filed.pk} to review",
        (superuser.email,): f"新的访问申请 #{filed.pk} 待审核",
    }


def test_every_member_email_renders_in_chinese(applicant, maintainer):
    """Each access-process email, through the same rendering, in the member's language."""
    from django.utils import translation

    from portal.mail import plain_text_render

    filed = file_request(applicant)
    grant = services.access_request_approve(request=filed, reviewer=maintainer)
    context = {
        "request": filed,
        "grant": grant,
        "reason": "r",
        "message": "m",
        "site_url": "https://t.example",
        "site_name": "Portal",
        "sla_days": 7,
        "requests": [filed],
    }
    with translation.override("zh-hans"):
        for template in ("approved", "rejected", "revoked", "info_requested", "withdrawn"):
            body = plain_text_render(f"access_requests/email/{template}.txt", context)
            subject = plain_text_render(f"access_requests/email/{template}_subject.txt", context)
            assert body.startswith("您好："), template  # noqa: RUF001
            assert "Your" not in body and "Your" not in subject, template
        digest = plain_text_render("access_requests/email/digest_subject.txt", context)
        assert digest.strip() == "1 个访问申请已等待超过 7 天"


def test_a_public_page_carries_no_csrf_token_and_sets_no_cookie(client):
    """The same figures give the same bytes to everyone: no per-visitor token or cookie."""
    first, second = client.get("/"), Client().get("/")
    assert b"csrfmiddlewaretoken" not in first.content
    assert first.content == second.content
    assert "csrftoken" not in first.cookies


def test_a_visitor_switches_without_a_token_but_a_member_needs_one(applicant):
    visitor = Client(enforce_csrf_checks=True)
    response = visitor.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert response.status_code == 302 and response.cookies["django_language"].value == "zh-hans"

    member = Client(enforce_csrf_checks=True)
    member.force_login(applicant)
    forged = member.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert forged.status_code == 403
    assert not Profile.objects.filter(user=applicant, language="zh-hans").exists()

    page = member.get("/policy/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert token is not None
    switched = member.post(
        "/i18n/setlang/",
        {"language": "zh-hans", "next": "/", "csrfmiddlewaretoken": token.group(1).decode()},
    )
    assert switched.status_code == 302
    assert Profile.objects.get(user=applicant).language == "zh-hans"


# --- the member's pages, the dictionary and the statistics in Chinese ------------------------


def chinese_page(client, path: str, **kwargs) -> str:
    response = client.get(path, **CHINESE, **kwargs)
    assert response.status_code == 200, (path, response.status_code)
    page = response.content.decode()
    assert html_lang(page) == "zh-Hans"
    return page


def headings(page: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", h).strip()
        for h in re.findall(r"<h[1-3][^>]*>(.*?)</h[1-3]>", page, re.S)
    ]


def test_the_members_overview_reads_in_chinese(client, applicant):
    filed = file_request(applicant)
    client.force_login(applicant)
    page = chinese_page(client, "/access/")
    assert "<h1>访问遥测数据</h1>" in page
    assert "您的访问申请" in page and "提交新的申请" in page
    assert f"#{filed.pk}: Addon co-usage study" in page  # the member's own words stay as typed
    assert '<span class="status status-submitted">已提交</span>' in page
    assert ">未决（等待决定）</option>" in page  # noqa: RUF001 - the state filter's choices
    for english in ("Access to the telemetry", "Your requests", "File a new request", "Filed "):
        assert english not in page


def test_the_request_page_reads_in_chinese(client, applicant, maintainer):
    grant = grant_for(applicant, maintainer)
    client.force_login(applicant)
    page = chinese_page(client, f"/access/requests/{grant.request_id}/")
    assert f"访问申请 #{grant.request_id}：Addon co-usage study" in headings(page)[0]  # noqa: RUF001
    assert {"申请内容", "时间线", "授权内容", "读取令牌", "导出"} <= set(headings(page))
    assert "<dt>理由</dt>" in page and "<dt>所需数据</dt>" in page
    assert "<strong>已批准</strong>" in page  # the timeline's event kinds
    assert '<strong class="grant-state">有效</strong>' in page
    assert "创建读取令牌" in page and "申请导出" in page
    for english in (
        "What was asked",
        "Timeline",
        "What was granted",
        "Read tokens",
        "Justification",
    ):
        assert english not in page


def test_the_request_form_reads_in_chinese_with_its_labels_and_errors(client, applicant):
    client.force_login(applicant)
    page = chinese_page(client, "/access/request/")
    assert headings(page)[0] == "提交访问申请"
    for label in ("用途", "理由", "预期用途", "发表计划", "所属机构", "所需数据", "数据元素"):
        assert f">{label}</" in page, label
    assert "我接受以上数据使用条款" in page
    assert "一行文字；申请获批后会公开显示。" in page  # noqa: RUF001 - a help text
    assert "安装实例 <a" in page and "（包含什么）" in page  # noqa: RUF001 - elements by their Chinese titles
    assert "假名化的每日报告" in page  # the data sets' labels
    for english in ("File an access request", "Justification", "Data wanted", "(what it holds)"):
        assert english not in page
    refused = client.post(
        "/access/request/",
        {
            "purpose": "x",
            "justification": "too short",
            "period_start": "2026-03-01",
            "period_end": "2026-01-01",
        },
        **CHINESE,
    ).content.decode()
    assert "时段的结束日期必须晚于开始日期。" in refused
    assert "This field is required." not in refused and "该字段是必填项。" in refused


def test_filing_says_so_in_chinese(client, applicant, django_capture_on_commit_callbacks):
    from access_requests.models import AccessRequest
    from tests.access_requests.factories import JUSTIFICATION

    client.force_login(applicant)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/access/request/",
            {
                "purpose": "兼容性研究",
                "justification": JUSTIFICATION,
                "intended_use": "统计插件组合",
                "affiliation": "Example Org",
                "datasets": ["rollups"],
                "elements": ["platformID", "version"],
                "period_start": "2026-01-01",
                "period_end": "2026-03-31",
                "duration_days": "30",
                "accept_terms": "on",
            },
            follow=True,
            **CHINESE,
        )
    filed = AccessRequest.objects.get(applicant=applicant)
    page = response.content.decode()
    assert f"访问申请 #{filed.pk} 已提交。我们已通过电子邮件给您发送了一份副本。" in page
    (message,) = [m for m in mail.outbox if m.to == [applicant.email]]
    assert message.subject == f"Your access request #{filed.pk} was received"  # no choice kept


def test_the_withdraw_confirmation_reads_in_chinese(client, applicant):
    filed = file_request(applicant)
    client.force_login(applicant)
    page = chinese_page(client, f"/access/requests/{filed.pk}/withdraw/")
    assert headings(page)[0] == f"撤回访问申请 #{filed.pk}？"  # noqa: RUF001
    assert "撤回会结束审核" in page and ">保留申请</a>" in page
    assert "Withdraw request" not in page and "Keep it" not in page


def test_the_token_page_reads_in_chinese(client, applicant, maintainer):
    grant = grant_for(applicant, maintainer)
    client.force_login(applicant)
    response = client.post(
        reverse("access-token-mint", args=[grant.pk]), {"name": "笔记本"}, **CHINESE
    )
    page = response.content.decode()
    assert html_lang(page) == "zh-Hans"
    assert headings(page) == ["您的新读取令牌", "使用方法"]
    assert "请立即复制：它只显示这一次。" in page  # noqa: RUF001
    assert 'data-copied="已复制。"' in page  # the copy button's status, for copy.js
    assert "Your new read token" not in page and "Copy it now" not in page


def test_the_data_dictionary_reads_in_chinese(client):
    page = chinese_page(client, "/dictionary/")
    assert headings(page)[0] == "数据字典"
    assert "每一行都有的字段" in headings(page)
    assert any(h.startswith("安装实例 platformID") for h in headings(page))
    assert "第 1 版已批准" in page
    assert "收集默认开启" in page  # a client quirk
    assert '<td class="field-type">文本</td>' in page  # a field's type
    assert "安装实例的假名：32 个十六进制字符" in page  # noqa: RUF001 - a stored field's description
    for english in (
        "<h1>Data dictionary</h1>",
        "In every row",
        "Known quirks of the client",
        "Collection is on by default",
        "The installation's pseudonym",
    ):
        assert english not in page


def test_the_statistics_read_in_chinese(client):
    page = chinese_page(client, "/stats/")
    assert headings(page)[0] == "社区从遥测中了解到什么"
    assert "这些数字如何受到保护" in headings(page)
    assert "发行版本线（主版本.次版本）" in headings(page)  # noqa: RUF001 - a dimension's title
    assert ">最近 30 天</a>" in page
    for english in (
        "What the community learns",
        "How the figures are protected",
        "Release lines (major.minor)",
        "Last 30 days",
    ):
        assert english not in page


def test_the_cached_figures_are_kept_apart_per_language(client):
    from django.utils import timezone, translation

    from ingest.stats import stats_html_cache_key, stats_range_parse

    today = timezone.now().date()
    period = stats_range_parse(first=None, last=None, preset="30", today=today)
    with translation.override("en"):
        english_key = stats_html_cache_key(period=period, today=today)
    with translation.override("zh-hans"):
        chinese_key = stats_html_cache_key(period=period, today=today)
    assert english_key and chinese_key and english_key != chinese_key
    # English first fills the cache; the Chinese page must not be served its figures.
    assert "Release adoption over time" in client.get("/stats/?range=30").content.decode()
    chinese = chinese_page(client, "/stats/?range=30")
    assert "发行版本的采用情况随时间的变化" in chinese
    assert "Release adoption over time" not in chinese
    assert "Release adoption over time" in client.get("/stats/?range=30").content.decode()


def test_the_data_api_stays_english_for_a_chinese_browser(client):
    index = client.get("/api/v1/stats/", **CHINESE)
    assert index["Content-Language"] == "en"
    titles = {d["dimension"]: d["title"] for d in index.json()["dimensions"]}
    assert titles["release_minor"] == "Release lines (major.minor)"
    refused = client.get("/api/v1/stats/release?from=soon", **CHINESE)
    assert refused.status_code == 400
    assert "Dates must be written YYYY-MM-DD." in refused.content.decode()
    # DRF's own messages (it ships Chinese ones) stay English too.
    unauthenticated = client.get("/api/v1/data/reports", **CHINESE)
    assert unauthenticated.json()["message"] == "Authentication credentials were not provided."


# --- every email to an applicant, in Chinese, through the real notification path -----------


def _export_built(grant, applicant, monkeypatch, *, broken=False):
    from access_requests import export_files
    from access_requests.services import exports as export_services

    monkeypatch.setattr(export_services, "export_enqueue", lambda *, export_id: True)
    if broken:

        def writer(export, out, progress):
            raise OSError("磁盘已满")

        monkeypatch.setitem(export_files.WRITERS, "csv", writer)
    export = services.export_request(grant=grant, user=applicant, file_format="csv")
    services.export_build(export_id=export.pk)
    return export


def _reminded(grant):
    from datetime import timedelta

    from django.utils import timezone

    from access_requests.models import Grant

    now = timezone.now()
    Grant.objects.filter(pk=grant.pk).update(
        created_at=now - timedelta(days=60),
        expires_at=now + timedelta(days=14) - timedelta(hours=1),
    )
    assert services.grant_reminders_send(now=now) == [(grant.pk, 14)]


APPLICANT_EMAILS = {
    # kind: (what sends it, a phrase of its subject, a phrase of its body)
    "submitted": (
        lambda a, m, g, mp: file_request(a),
        "已收到您的访问申请",
        "我们已收到您的 KubeVela 遥测数据访问申请",
    ),
    "info_requested": (
        lambda a, m, g, mp: services.access_request_ask_info(
            request=file_request(a), reviewer=m, message="请说明用途。"
        ),
        "需要补充信息",
        "提出了问题",
    ),
    "withdrawn": (
        lambda a, m, g, mp: services.access_request_withdraw(request=file_request(a), applicant=a),
        "已撤回",
        "已按您的要求撤回",
    ),
    "rejected": (
        lambda a, m, g, mp: services.access_request_reject(
            request=file_request(a), reviewer=m, reason="范围过大。"
        ),
        "未获批准",
        "审核人给出的理由",
    ),
    "approved": (lambda a, m, g, mp: grant_for(a, m), "已获批准", "您可以读取"),
    "revoked": (
        lambda a, m, g, mp: services.grant_revoke(grant=g(), actor=m, reason="不再需要。"),
        "已被撤销",
        "获得的授权已被撤销",
    ),
    "export_ready": (lambda a, m, g, mp: _export_built(g(), a, mp), "已就绪", "已就绪"),
    "export_failed": (
        lambda a, m, g, mp: _export_built(g(), a, mp, broken=True),
        "失败",
        "未能生成",
    ),
    "grant_reminder": (
        lambda a, m, g, mp: _reminded(g()),
        "天后结束",
        "如需继续使用这些数据，请申请续期",  # noqa: RUF001 - Chinese punctuation
    ),
}


@pytest.mark.parametrize("kind", APPLICANT_EMAILS)
def test_each_email_to_an_applicant_who_chose_chinese_is_in_chinese(
    kind, applicant, maintainer, monkeypatch, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    Profile.objects.create(user=applicant, language="zh-hans")
    sends, subject_phrase, body_phrase = APPLICANT_EMAILS[kind]
    grants = []

    def granted():
        with django_capture_on_commit_callbacks(execute=False):  # the approval's own email
            grants.append(grant_for(applicant, maintainer))
        return grants[-1]

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        sends(applicant, maintainer, granted, monkeypatch)
    to_member = [m for m in mail.outbox if m.to == [applicant.email]]
    assert to_member, f"no {kind} email to the applicant"
    message = to_member[-1]
    assert subject_phrase in message.subject, message.subject
    assert message.body.startswith("您好："), message.body  # noqa: RUF001
    assert body_phrase in message.body, message.body
    for english in ("Hello", "Your ", "The KubeVela telemetry portal", " was ", " days"):
        assert english not in message.subject + message.body, (kind, english)


def test_an_exports_datasheet_stays_english_for_a_chinese_browser(
    client, applicant, maintainer, monkeypatch, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    grant = grant_for(applicant, maintainer)
    export = _export_built(grant, applicant, monkeypatch)
    client.force_login(applicant)
    path = reverse("access-export-datasheet", args=[export.pk])
    markdown = client.get(path, {"as": "md"}, **CHINESE).content.decode()
    sheet = client.get(path, {"as": "json"}, **CHINESE).json()
    assert markdown.startswith("# Datasheet: ")
    version = next(e for e in sheet["elements"] if e["key"] == "version")
    assert version["title"] == "KubeVela version"
    assert version["how_read"].startswith("version is made as release")
    assert not re.search(r"[\u4e00-\u9fff]", markdown + str(sheet))  # no Chinese at all
