"""How django-axes identifies a sign-in attempt: by account, never by address.

The site's sign-in form (allauth) authenticates with an email address, the admin's
with a username, and axes itself resets the count after a success by username. All
three name the same account, so each is mapped to the account's email address
(lower-cased): failures on the site and the admin add up, and changing the case of
an address buys no fresh attempts. A name that matches no account is counted as
typed, lower-cased, so probing unknown names is limited too.
"""

from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import Http404, HttpRequest

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
