"""Login rate limiting: failures are counted per account on the one sign-in form (the
admin signs in through it too), never per address, and no address is stored with an
attempt. Attempts made while an account is locked neither count nor extend the lock, and
the owner gets back in by resetting the password through the emailed link."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils.timezone import now as timezone_now

from portal.models import AuditEvent
from tests.access_requests.factories import UserFactory
from tests.personas import PASSWORD, persona_create

DISTINCTIVE_ADDRESS = "203.0.113.77"

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return persona_create("alice")


@pytest.fixture
def bob():
    return persona_create("bob")


def site_login(client, login: str, password: str, **extra):
    return client.post(reverse("account_login"), {"login": login, "password": password}, **extra)


def fail_site_logins(client, login: str, times: int = 5, **extra) -> list[int]:
    wrong = "not-the-password"
    return [site_login(client, login, wrong, **extra).status_code for _ in range(times)]


def reset_password_by_email(client, address: str, new_password: str):
    """Ask for a reset, follow the emailed link, set the new password: the last answer."""
    client.post(reverse("account_reset_password"), {"email": address})
    link = re.search(r"https?://\S+/accounts/password/reset/key/\S+/", mail.outbox[-1].body)
    form = client.get(urlsplit(link.group(0)).path)  # allauth moves the key to the session
    assert form.status_code == 302, form
    return client.post(form["Location"], {"password1": new_password, "password2": new_password})


def attempt_times() -> list:
    return sorted(AccessAttempt.objects.values_list("attempt_time", flat=True))


def test_five_failures_lock_the_account_even_for_the_right_password(client, alice, bob):
    # Four times the form again with its error; the fifth failure locks the account.
    assert fail_site_logins(client, "alice@example.org") == [200, 200, 200, 200, 429]
    response = site_login(client, "alice@example.org", PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Sign-in paused for this account" in page
    assert "alice@example.org" in page
    text = " ".join(page.split())
    assert "paused for 15 minutes from the failed attempt that paused it" in text
    assert "Resetting the password by email lifts the pause at once" in text
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


def test_the_admin_has_no_sign_in_form_of_its_own(client, alice):
    """A username and password posted to the admin's old form sign nobody in."""
    alice.is_staff = True
    alice.save()
    response = client.post(
        reverse("admin:login"), {"username": "alice", "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next=%2Fadmin%2F"
    assert "_auth_user_id" not in client.session
    assert not AccessAttempt.objects.exists()


def test_a_locked_staff_account_cannot_reach_the_admin(client, alice):
    alice.is_staff = True
    alice.save()
    fail_site_logins(client, "alice@example.org")
    response = client.post(
        f"{reverse('account_login')}?next=/admin/",
        {"login": "alice@example.org", "password": PASSWORD},
    )
    assert response.status_code == 429
    assert client.get("/admin/").status_code == 302


def test_attempts_while_locked_neither_count_nor_extend_the_lock(client, alice):
    """Nobody can keep the lock on by trying again, the owner included."""
    assert fail_site_logins(client, "alice@example.org") == [200, 200, 200, 200, 429]
    locked_at = attempt_times()
    assert fail_site_logins(client, "alice@example.org", times=20) == [429] * 20
    assert (
        site_login(client, "alice@example.org", PASSWORD, HTTP_USER_AGENT="other").status_code
        == 429
    )
    assert attempt_times() == locked_at
    assert sum(AccessAttempt.objects.values_list("failures_since_start", flat=True)) == 5


def test_failed_guesses_stay_bounded_per_cool_off(client, alice, settings):
    """Five guesses, then none until the cool-off has passed since the fifth."""
    fail_site_logins(client, "alice@example.org", times=30)
    assert sum(AccessAttempt.objects.values_list("failures_since_start", flat=True)) == 5
    past = timezone_now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    AccessAttempt.objects.update(attempt_time=past)
    assert fail_site_logins(client, "alice@example.org") == [200, 200, 200, 200, 429]
    assert sum(AccessAttempt.objects.values_list("failures_since_start", flat=True)) == 5


def test_a_password_reset_lifts_the_lock_and_signs_the_owner_in(client, alice):
    fail_site_logins(client, "alice@example.org", times=12)
    response = reset_password_by_email(client, "alice@example.org", "a-new-battery-staple")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)  # signed in by the reset itself
    assert not AccessAttempt.objects.exists()
    lifted = AuditEvent.objects.get(action="account.sign_in_lock_lifted")
    assert lifted.actor == alice and lifted.target_id == str(alice.pk)
    client.logout()
    assert site_login(client, "alice@example.org", PASSWORD).status_code == 200  # the old one
    assert site_login(client, "alice@example.org", "a-new-battery-staple").status_code == 302


def test_after_a_reset_the_new_password_opens_the_admin_at_once(client, alice):
    alice.is_staff = True
    alice.save()
    fail_site_logins(client, "alice@example.org")
    reset_password_by_email(client, "alice@example.org", "a-new-battery-staple")
    client.logout()
    response = client.post(
        f"{reverse('account_login')}?next=/admin/",
        {"login": "alice@example.org", "password": "a-new-battery-staple"},
    )
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert client.get("/admin/").status_code == 200


def test_an_attacker_spending_the_reset_budget_leaves_the_owner_a_working_link(client, alice):
    """Resets are limited per address, but every mail the attacker triggered went to the
    owner, and each link in it works until the password changes."""
    attacker = Client()
    fail_site_logins(attacker, "alice@example.org", times=20)
    statuses = [
        attacker.post(reverse("account_reset_password"), {"email": "alice@example.org"})
        for _ in range(12)
    ]
    assert [r.status_code for r in statuses][-1] == 429
    first_link = re.search(r"https?://\S+/accounts/password/reset/key/\S+/", mail.outbox[0].body)
    form = client.get(urlsplit(first_link.group(0)).path)
    response = client.post(
        form["Location"], {"password1": "a-new-battery-staple", "password2": "a-new-battery-staple"}
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)
    assert not AccessAttempt.objects.exists()


def test_a_reset_of_an_unlocked_account_writes_no_lock_audit_row(client, alice):
    reset_password_by_email(client, "alice@example.org", "a-new-battery-staple")
    assert not AuditEvent.objects.filter(action="account.sign_in_lock_lifted").exists()


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
    # Five failures; the attempt made while locked is not recorded.
    assert sum(a.failures_since_start for a in attempts) == 5
    assert all("not-the-password" not in a.post_data for a in attempts)
    call_command("dumpdata", "axes", stdout=None)
    dump = capsys.readouterr().out
    assert "alice@example.org" in dump  # the dump did include the attempts
    assert DISTINCTIVE_ADDRESS not in dump
