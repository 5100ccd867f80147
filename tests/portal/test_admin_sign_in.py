"""One sign-in for the site and the admin (allauth), and two-factor authentication.

Staff sign in on the site with their email and reach the admin; the admin has no form of
its own. Every account may set up an authenticator app with recovery codes; with
STAFF_REQUIRE_MFA=1 the admin opens for staff only once they have.
"""

import re
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    SECRET_SESSION_KEY,
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.core import mail
from django.urls import reverse

from portal.models import AuditEvent
from tests.access_requests.factories import UserFactory
from tests.personas import PASSWORD

ACTIVATE = "/accounts/2fa/totp/activate/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return UserFactory(username="mia")


@pytest.fixture
def mfa_required(settings):
    settings.STAFF_REQUIRE_MFA = True


def current_code(secret: str, periods_ahead: int = 0) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + periods_ahead))


def with_totp(user) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    return secret


def sign_in(client, email: str, next_path: str = "/admin/"):
    return client.post(
        f"{reverse('account_login')}?next={next_path}", {"login": email, "password": PASSWORD}
    )


def confirm_password(client) -> None:
    """allauth asks for the password again before an authenticator is added."""
    response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302, response


# --- one sign-in ----------------------------------------------------------------------------


def test_the_admin_sends_anonymous_visitors_to_the_site_sign_in(client):
    first = client.get("/admin/access_requests/accessrequest/")
    assert first.status_code == 302 and first["Location"].startswith("/admin/login/?next=")
    second = client.get(first["Location"])
    assert second.status_code == 302
    assert second["Location"] == (
        f"{reverse('account_login')}?next=%2Fadmin%2Faccess_requests%2Faccessrequest%2F"
    )


def test_staff_sign_in_on_the_site_with_their_email_and_reach_the_admin(client, maintainer):
    response = sign_in(client, "maria@example.org")
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    page = client.get("/admin/")
    assert page.status_code == 200
    assert "Review, policy and audit" in page.content.decode()


def test_a_superuser_from_createsuperuser_verifies_the_email_then_reaches_the_admin(
    client, django_user_model
):
    django_user_model.objects.create_superuser("boss", "boss@example.org", PASSWORD)
    first = sign_in(client, "boss@example.org")
    assert (first.status_code, first["Location"]) == (
        302,
        reverse("account_email_verification_sent"),
    )
    (message,) = mail.outbox
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", message.body)
    client.post(link.group(1))
    again = sign_in(client, "boss@example.org")
    assert (again.status_code, again["Location"]) == (302, "/admin/")
    assert client.get("/admin/").status_code == 200


def test_a_signed_in_member_is_refused_the_admin_sign_in(client, member):
    client.force_login(member)
    assert client.get(reverse("admin:login")).status_code == 403
    assert client.get("/admin/").status_code == 302  # to the admin's sign-in, which refuses


# --- two-factor authentication --------------------------------------------------------------


def test_every_account_can_set_up_an_authenticator_app_with_recovery_codes(client, member):
    sign_in(client, "mia@example.org", next_path="/access/")
    confirm_password(client)
    assert client.get(reverse("mfa_index")).status_code == 200
    page = client.get(ACTIVATE)
    assert page.status_code == 200
    assert "data:image/svg+xml;base64," in page.content.decode()  # the QR code, inline
    secret = client.session[SECRET_SESSION_KEY]
    response = client.post(ACTIVATE, {"code": current_code(secret)})
    assert (response.status_code, response["Location"]) == (302, "/accounts/2fa/recovery-codes/")
    kinds = set(Authenticator.objects.filter(user=member).values_list("type", flat=True))
    assert kinds == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}


def test_the_profile_offers_two_factor_authentication(client, member):
    client.force_login(member)
    page = client.get(reverse("profile")).content.decode()
    assert f'href="{reverse("mfa_index")}"' in page


def test_the_authenticator_names_the_portal_not_the_host(client, member, settings):
    settings.ALLOWED_HOSTS = ["testserver", "portal-alias.example.net"]
    sign_in(client, "mia@example.org", next_path="/access/")
    confirm_password(client)
    page = client.get(ACTIVATE, HTTP_HOST="portal-alias.example.net")
    assert "portal-alias.example.net" not in page.context["totp_url"]
    assert "issuer=KubeVela%20telemetry%20portal" in page.context["totp_url"]


def test_staff_with_mfa_give_a_code_after_the_password(client, maintainer):
    secret = with_totp(maintainer)
    response = sign_in(client, "maria@example.org")
    assert (response.status_code, response["Location"]) == (302, reverse("mfa_authenticate"))
    assert "_auth_user_id" not in client.session
    response = client.post(reverse("mfa_authenticate"), {"code": current_code(secret)})
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert client.get("/admin/").status_code == 200


def test_two_factor_codes_are_limited_per_account(client, maintainer):
    secret = with_totp(maintainer)
    sign_in(client, "maria@example.org")
    for _ in range(5):
        wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
        assert wrong.status_code == 200
    refused = client.post(reverse("mfa_authenticate"), {"code": current_code(secret)})
    assert refused.status_code == 200
    assert "_auth_user_id" not in client.session


def test_staff_require_mfa_sends_staff_without_it_to_set_it_up(
    client, mfa_required, maintainer, auditor, superuser
):
    for person in (maintainer, auditor, superuser):
        client.force_login(person)
        for path in ("/admin/", "/admin/portal/auditevent/"):
            first = client.get(path)
            assert first.status_code == 302 and first["Location"].startswith("/admin/login/")
            second = client.get(first["Location"])
            assert (second.status_code, second["Location"]) == (302, ACTIVATE), person
        client.logout()


def test_staff_require_mfa_opens_the_admin_once_it_is_set_up(client, mfa_required, maintainer):
    sign_in(client, "maria@example.org")
    assert client.get("/admin/", follow=True).redirect_chain[-2] == (ACTIVATE, 302)
    confirm_password(client)
    assert client.get(ACTIVATE).status_code == 200
    secret = client.session[SECRET_SESSION_KEY]
    client.post(ACTIVATE, {"code": current_code(secret)})
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/portal/auditevent/").status_code == 200


def test_staff_require_mfa_asks_nothing_of_members(client, mfa_required, member):
    client.force_login(member)
    assert client.get(reverse("access-home")).status_code == 200


def test_without_staff_require_mfa_the_admin_opens_without_it(client, maintainer):
    client.force_login(maintainer)
    assert client.get("/admin/").status_code == 200


# --- authenticators in the admin: never their secrets --------------------------------------


def test_the_admin_shows_who_has_an_authenticator_never_its_secret(client, superuser, maintainer):
    secret = with_totp(maintainer)
    totp = Authenticator.objects.get(user=maintainer, type=Authenticator.Type.TOTP)
    seed = Authenticator.objects.get(user=maintainer, type=Authenticator.Type.RECOVERY_CODES)
    client.force_login(superuser)
    listing = client.get("/admin/mfa/authenticator/").content.decode()
    assert "maria" in listing
    for authenticator in (totp, seed):
        page = client.get(f"/admin/mfa/authenticator/{authenticator.pk}/change/")
        assert page.status_code == 200
        assert page.context_data["has_change_permission"] is False
        body = page.content.decode()
        assert secret not in body
        assert not re.search(r"[0-9a-f]{40}", body)  # the recovery codes' seed
        assert authenticator.data.get("seed", "not-there") not in body


def test_removing_an_authenticator_is_audited(client, superuser, maintainer):
    with_totp(maintainer)
    totp = Authenticator.objects.get(user=maintainer, type=Authenticator.Type.TOTP)
    client.force_login(superuser)
    response = client.post(f"/admin/mfa/authenticator/{totp.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Authenticator.objects.filter(pk=totp.pk).exists()
    event = AuditEvent.objects.get(action="account.mfa_removed")
    assert event.actor == superuser and event.target_id == str(maintainer.pk)
