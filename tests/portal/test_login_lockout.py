"""Login rate limiting: failures are counted per account on the site and the admin,
never per address, and no address is stored with an attempt."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from tests.access_requests.factories import UserFactory

PASSWORD = "correct-horse-battery"
DISTINCTIVE_ADDRESS = "203.0.113.77"

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return UserFactory(username="alice")


@pytest.fixture
def bob():
    return UserFactory(username="bob")


def site_login(client, login: str, password: str, **extra):
    return client.post(reverse("account_login"), {"login": login, "password": password}, **extra)


def admin_login(client, username: str, password: str, **extra):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": "/admin/"},
        **extra,
    )


def fail_site_logins(client, login: str, times: int = 5, **extra) -> list[int]:
    wrong = "not-the-password"
    return [site_login(client, login, wrong, **extra).status_code for _ in range(times)]


def test_five_failures_lock_the_account_even_for_the_right_password(client, alice, bob):
    # Four times the form again with its error; the fifth failure locks the account.
    assert fail_site_logins(client, "alice@example.org") == [200, 200, 200, 200, 429]
    response = site_login(client, "alice@example.org", PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Sign-in paused for this account" in page
    assert "alice@example.org" in page
    assert "paused for 15 minutes after the last failed attempt" in " ".join(page.split())
    assert "_auth_user_id" not in client.session
    # Another account is not affected.
    assert site_login(client, "bob@example.org", PASSWORD).status_code == 302


def test_four_failures_then_success_resets_the_count(client, alice):
    assert fail_site_logins(client, "alice@example.org", times=4) == [200] * 4
    assert site_login(client, "alice@example.org", PASSWORD).status_code == 302
    client.logout()
    assert fail_site_logins(client, "alice@example.org", times=4) == [200] * 4
    assert site_login(client, "alice@example.org", PASSWORD).status_code == 302


def test_changing_case_or_user_agent_or_address_buys_no_fresh_attempts(client, alice):
    for number, login in enumerate(
        ["alice@example.org", "ALICE@example.org", " Alice@Example.org", "alice@EXAMPLE.ORG"]
    ):
        extra = {
            "HTTP_USER_AGENT": f"agent-{number}",
            "REMOTE_ADDR": f"198.51.100.{number + 1}",
            "HTTP_X_FORWARDED_FOR": f"192.0.2.{number + 1}",
        }
        site_login(client, login, "not-the-password", **extra)
    site_login(client, "alice@example.org", "not-the-password", HTTP_USER_AGENT="agent-5")
    response = site_login(client, "alice@example.org", PASSWORD, HTTP_USER_AGENT="agent-6")
    assert response.status_code == 429


def test_the_admin_login_is_limited_too(client, alice):
    alice.is_staff = True
    alice.save()
    statuses = [admin_login(client, "alice", "not-the-password").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    response = admin_login(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_failures_on_the_site_and_the_admin_count_against_one_account(client, alice):
    alice.is_staff = True
    alice.save()
    assert fail_site_logins(client, "alice@example.org", times=3) == [200] * 3
    assert admin_login(client, "ALICE", "not-the-password").status_code == 200
    assert admin_login(client, "alice", "not-the-password").status_code == 429
    assert site_login(client, "alice@example.org", PASSWORD).status_code == 429


def test_failures_on_many_accounts_lock_none_of_the_others(client, alice):
    """The portal has no addresses: an address-wide limit would be one bucket for everyone."""
    for number in range(12):
        UserFactory(username=f"user-{number}")
        statuses = fail_site_logins(client, f"user-{number}@example.org", times=2)
        assert statuses == [200, 200]
    assert site_login(client, "alice@example.org", PASSWORD).status_code == 302


def test_unknown_names_are_limited_as_typed(client):
    assert fail_site_logins(client, "Nobody@Example.org") == [200, 200, 200, 200, 429]


def test_the_lock_lifts_after_the_cool_off(client, alice, settings):
    fail_site_logins(client, "alice@example.org")
    assert site_login(client, "alice@example.org", PASSWORD).status_code == 429
    past = (
        AccessAttempt.objects.get().attempt_time - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    AccessAttempt.objects.update(attempt_time=past)
    assert site_login(client, "alice@example.org", PASSWORD).status_code == 302


def test_a_locked_account_can_still_reset_its_password(client, alice):
    fail_site_logins(client, "alice@example.org")
    response = client.post(reverse("account_reset_password"), {"email": "alice@example.org"})
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]


def test_no_attempt_is_stored_with_an_address(client, alice, capsys):
    fail_site_logins(
        client,
        "alice@example.org",
        REMOTE_ADDR=DISTINCTIVE_ADDRESS,
        HTTP_X_FORWARDED_FOR=DISTINCTIVE_ADDRESS,
        HTTP_X_REAL_IP=DISTINCTIVE_ADDRESS,
    )
    site_login(client, "alice@example.org", PASSWORD, REMOTE_ADDR=DISTINCTIVE_ADDRESS)
    attempts = list(AccessAttempt.objects.all())
    assert attempts and all(a.ip_address is None for a in attempts)
    # Five failures, and the attempt while locked (it restarts the cool-off).
    assert sum(a.failures_since_start for a in attempts) == 6
    assert all("not-the-password" not in a.post_data for a in attempts)
    call_command("dumpdata", "axes", stdout=None)
    dump = capsys.readouterr().out
    assert "alice@example.org" in dump  # the dump did include the attempts
    assert DISTINCTIVE_ADDRESS not in dump
