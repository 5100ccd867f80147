"""How django-axes identifies a sign-in attempt: by account, never by address.

There is one sign-in form, the site's (allauth, by email): the admin sends staff to it
(portal/admin_site.py). allauth's reauthentication passes the username and the email,
and axes resets the count after a success by username. All name the same account, so
each is mapped to the account's email address (lower-cased): changing the case of an
address buys no fresh attempts. A name that matches no account is counted as typed,
lower-cased, so probing unknown names is limited too.

The owner of an account can always get back in by proving control of its email: a
password reset through the emailed link lifts the lock (``lift_sign_in_lock``) and signs
them in. Links in allauth's emails are built from PUBLIC_BASE_URL, never from the Host
the request came with (``AccountAdapter``).
"""

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from allauth.account.signals import password_reset
from allauth.mfa.utils import is_mfa_enabled
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.dispatch import receiver
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils import translation

from portal.middleware import UNKNOWN_ADDRESS
from portal.services import audit_event_record

IDENTITY_FIELDS = ("email", "login", "username")


def login_identity(request: HttpRequest | None, credentials: dict | None = None) -> str | None:
    typed = _typed_identity(request, credentials)
    if typed is None:
        return None
    account = (
        get_user_model()
        .objects.filter(Q(username__iexact=typed) | Q(email__iexact=typed))
        .exclude(email="")
        .order_by("pk")
        .values_list("email", flat=True)
        .first()
    )
    return (account or typed).lower()


def _typed_identity(request: HttpRequest | None, credentials: dict | None) -> str | None:
    sources = [credentials or {}]
    if request is not None:
        sources.append(getattr(request, "POST", None) or {})
    for source in sources:
        for field in IDENTITY_FIELDS:
            value = source.get(field)
            if isinstance(value, str) and value.strip():
                return value.strip().lower()
    return None


def no_client_address(request: HttpRequest) -> None:
    """Attempts are never tied to, or stored with, a client address."""
    return None


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Sign-in with a provider that has no credentials configured is a 404, not a 500.

    The provider's URLs (/accounts/github/login/ and its callback) exist whether or not
    GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are set. Without them allauth raises
    SocialApp.DoesNotExist, a server error; it is a 404 here, as allauth itself answers
    for its OpenID Connect providers.
    """

    def get_provider(self, request: HttpRequest, provider, client_id=None):
        try:
            return super().get_provider(request, provider, client_id=client_id)
        except SocialApp.DoesNotExist as exc:
            raise Http404(f"Signing in with {provider} is not set up.") from exc


# --- lifting a lock: the owner proves control of the account's email ------------------------


def account_identities(user: User) -> set[str]:
    """Every name ``login_identity`` may have counted the account's failures under."""
    names = {user.get_username(), user.email}
    names.update(EmailAddress.objects.filter(user_id=user.pk).values_list("email", flat=True))
    return {name.strip().lower() for name in names if name and name.strip()}


@receiver(password_reset, dispatch_uid="portal.auth.lift_sign_in_lock")
def lift_sign_in_lock(sender, request: HttpRequest, user: User, **kwargs) -> None:
    """A reset completed through the emailed link lifts the account's sign-in lock.

    Only the owner of the address can follow the link, so however many failures anyone
    made, the owner gets back in (allauth then signs them in: ACCOUNT_LOGIN_ON_PASSWORD_RESET).
    """
    with transaction.atomic():
        cleared = sum(axes_reset(username=name) for name in account_identities(user))
        if cleared:
            audit_event_record(
                action="account.sign_in_lock_lifted",
                actor=user,
                target=user,
                details={"by": "password_reset", "attempt_records_cleared": cleared},
            )


# --- allauth: links from PUBLIC_BASE_URL, limits by account -----------------------------------


@dataclass(frozen=True)
class PublicSite:
    """What allauth's email templates call ``current_site``: the portal's public name."""

    name: str
    domain: str


def public_url(path: str) -> str:
    """An absolute URL on PUBLIC_BASE_URL's scheme and host, whatever Host a request sent."""
    public = urlsplit(settings.PUBLIC_BASE_URL)
    return f"{public.scheme}://{public.netloc}{path}"


def member_language(user: User | None) -> str:
    """The language a member's emails are written in: the one kept on their profile.

    The profile belongs to access_requests, which the kernel does not import; it is read
    through the user's reverse relation. Without a choice, the page's language (sign-up,
    a reset asked for from a page) is the member's.
    """
    profile = getattr(user, "profile", None) if user is not None else None
    chosen = getattr(profile, "language", "")
    return chosen or translation.get_language() or settings.LANGUAGE_CODE


class AccountAdapter(DefaultAccountAdapter):
    def get_reset_password_from_key_url(self, key: str) -> str:
        # As allauth's own: the opaque "<uid>-<token>" key goes where the route wants both.
        path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
        return public_url(path.replace("UID-KEY", quote(key)))

    def get_email_confirmation_url(self, request: HttpRequest | None, emailconfirmation) -> str:
        return public_url(reverse("account_confirm_email", args=[emailconfirmation.key]))

    def send_account_already_exists_mail(self, email: str) -> None:
        context = {
            "signup_url": public_url(reverse("account_signup")),
            "password_reset_url": public_url(reverse("account_reset_password")),
        }
        self.send_mail("account/email/account_already_exists", email, context)

    def format_email_subject(self, subject: str) -> str:
        return f"[{settings.SITE_NAME}] {subject}"

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        public = urlsplit(settings.PUBLIC_BASE_URL)
        site = PublicSite(name=settings.SITE_NAME, domain=public.netloc)
        context = {
            **context,
            "current_site": site,
            "site_url": settings.PUBLIC_BASE_URL.rstrip("/"),
        }
        with translation.override(member_language(context.get("user"))):
            super().send_mail(template_prefix, email, context)

    def pre_authenticate(self, request: HttpRequest, **credentials) -> None:
        """Failed passwords are counted by django-axes, per account, on every sign-in form.

        allauth's own per-account counter would be a second lock with other rules and
        another reset; its ``login_failed`` limit still bounds two-factor codes.
        """

    def get_client_ip(self, request: HttpRequest) -> str:
        """The portal never has the client's address (ForgetClientAddressMiddleware)."""
        return UNKNOWN_ADDRESS


# --- the admin: MFA for staff when STAFF_REQUIRE_MFA is set ----------------------------------


def staff_needs_mfa(user: User) -> bool:
    """A staff account that must set up two-factor authentication before the admin opens."""
    return bool(
        settings.STAFF_REQUIRE_MFA
        and user.is_authenticated
        and user.is_active
        and (user.is_staff or user.is_superuser)
        and not is_mfa_enabled(user)
    )
