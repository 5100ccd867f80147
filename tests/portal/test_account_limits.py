"""allauth's limits are keyed on the account or the destination address, never on the
address the portal does not have: one client cannot use them to refuse everyone, and
the portal cannot be used to flood a mailbox. Links in emails come from PUBLIC_BASE_URL.
"""

import re

import pytest
from allauth.account import app_settings as account_settings
from allauth.core.internal.ratelimit import parse_rates
from allauth.mfa import app_settings as mfa_settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.access_requests.factories import UserFactory

PASSWORD = "correct-horse-battery"
PUBLIC = "https://telemetry.example.org"
OTHER_HOST = "portal-alias.example.net"

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return UserFactory(username="mia")


@pytest.fixture
def one_client():
    """One client, with the CSRF checks a browser goes through."""
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("account_login"))
    return client


def csrf(client) -> dict:
    return {"csrfmiddlewaretoken": client.cookies["csrftoken"].value}


def reset_for(client, address: str, **extra):
    return client.post(
        reverse("account_reset_password"), {"email": address} | csrf(client), **extra
    )


def test_no_allauth_limit_is_keyed_on_the_address():
    limits = {**account_settings.RATE_LIMITS, **mfa_settings.RATE_LIMITS}
    by_address = {
        action: rates
        for action, rates in limits.items()
        if any(rate.per == "ip" for rate in parse_rates(rates))
    }
    assert by_address == {}


@pytest.mark.slow
def test_310_empty_sign_in_posts_leave_a_member_able_to_sign_in(one_client, member):
    statuses = {
        one_client.post(reverse("account_login"), csrf(one_client)).status_code for _ in range(310)
    }
    assert statuses == {200}  # the form again, with its errors; never 429
    member_client = Client(enforce_csrf_checks=True)
    member_client.get(reverse("account_login"))
    response = member_client.post(
        reverse("account_login"),
        {"login": "mia@example.org", "password": PASSWORD} | csrf(member_client),
    )
    assert response.status_code == 302
    assert member_client.session["_auth_user_id"] == str(member.pk)


def test_70_empty_sign_up_posts_leave_sign_up_open(one_client):
    statuses = {
        one_client.post(reverse("account_signup"), csrf(one_client)).status_code for _ in range(70)
    }
    assert statuses == {200}
    newcomer = Client(enforce_csrf_checks=True)
    newcomer.get(reverse("account_signup"))
    response = newcomer.post(
        reverse("account_signup"),
        {"email": "newcomer@example.org", "password1": PASSWORD, "password2": PASSWORD}
        | csrf(newcomer),
    )
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["newcomer@example.org"]]


def test_60_resets_for_60_unknown_addresses_send_no_email(one_client):
    statuses = {reset_for(one_client, f"stranger-{n}@example.com").status_code for n in range(60)}
    assert statuses == {302}  # "we have sent you an email", as for a known address
    assert len(mail.outbox) == 0


def test_resets_are_limited_per_destination_address(one_client, member):
    other = UserFactory(username="olga")
    statuses = [reset_for(one_client, "mia@example.org").status_code for _ in range(10)]
    assert statuses == [302, 302, 302] + [429] * 7
    assert [m.to for m in mail.outbox] == [["mia@example.org"]] * 3
    # Another address is not affected, and an unknown one is answered alike.
    assert reset_for(one_client, other.email).status_code == 302
    assert len(mail.outbox) == 4
    assert [reset_for(one_client, "x@example.com").status_code for _ in range(4)][-1] == 429


def test_the_reset_limit_ignores_case_and_spaces(one_client, member):
    for address in ["mia@example.org", "MIA@example.org", " Mia@Example.ORG "]:
        reset_for(one_client, address)
    assert reset_for(one_client, "mia@EXAMPLE.org").status_code == 429
    assert len(mail.outbox) == 3


def test_sign_ups_with_a_taken_address_mail_it_once(one_client, member):
    for _ in range(20):
        one_client.post(
            reverse("account_signup"),
            {"email": "mia@example.org", "password1": PASSWORD, "password2": PASSWORD}
            | csrf(one_client),
        )
    assert [m.to for m in mail.outbox] == [["mia@example.org"]]
    assert "already" in mail.outbox[0].body


# --- links from PUBLIC_BASE_URL, never the request's Host ---------------------------------


@pytest.fixture
def two_hosts(settings):
    """A deployment reachable under a second name, as ALLOWED_HOSTS may allow."""
    settings.PUBLIC_BASE_URL = PUBLIC
    settings.ALLOWED_HOSTS = ["testserver", OTHER_HOST]


def links(body: str) -> list[str]:
    return re.findall(r"https?://\S+", body)


def test_reset_links_use_public_base_url_not_the_host(client, member, two_hosts):
    client.post(
        reverse("account_reset_password"), {"email": "mia@example.org"}, HTTP_HOST=OTHER_HOST
    )
    (message,) = mail.outbox
    found = links(message.body)
    assert found and all(link.startswith(f"{PUBLIC}/") for link in found), found
    assert any("/accounts/password/reset/key/" in link for link in found)
    assert OTHER_HOST not in message.body and OTHER_HOST not in message.subject
    assert "telemetry.example.org" in message.body  # the site's domain in the signature


def test_verification_links_use_public_base_url_not_the_host(client, two_hosts):
    client.post(
        reverse("account_signup"),
        {"email": "newcomer@example.org", "password1": PASSWORD, "password2": PASSWORD},
        HTTP_HOST=OTHER_HOST,
    )
    (message,) = mail.outbox
    found = links(message.body)
    assert any(link.startswith(f"{PUBLIC}/accounts/confirm-email/") for link in found), found
    assert OTHER_HOST not in message.body


def test_the_taken_address_mail_links_to_public_base_url(client, member, two_hosts):
    client.post(
        reverse("account_signup"),
        {"email": "mia@example.org", "password1": PASSWORD, "password2": PASSWORD},
        HTTP_HOST=OTHER_HOST,
    )
    (message,) = mail.outbox
    found = links(message.body)
    assert found and all(link.startswith(f"{PUBLIC}/") for link in found), found
