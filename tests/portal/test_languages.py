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
