"""Bearer read tokens for the data API, with a clear reason for every refusal."""

from django.contrib.auth.models import User
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from access_requests import tokens
from access_requests.models import ReadToken


class TokenRefused(exceptions.AuthenticationFailed):
    """``token``: the refused token, when the portal knows it (for the audit row)."""

    def __init__(self, code: str, message: str, token: ReadToken | None = None):
        super().__init__(detail=message, code=code)
        self.token = token


class ReadTokenRequest(Request):
    """A request that ReadTokenAuthentication admitted, typed for the checker.

    Behind it and ``IsAuthenticated`` (the data API's views), ``request.auth`` is the
    presented token and ``request.user`` its owner; DRF types both as anything. Views
    annotate their request with this class; DRF still passes its own ``Request``.
    """

    auth: ReadToken
    user: User


class ReadTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="telemetry data"'

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, secret = header.partition(" ")
        secret = secret.strip()
        if scheme != self.keyword or not tokens.token_is_well_formed(secret):
            raise TokenRefused(
                "malformed_token",
                "The Authorization header must be "
                "'Bearer tvt_…' with a complete, correctly typed token.",
            )
        token = (
            ReadToken.objects.select_related("grant", "user")
            .filter(token_hash=tokens.token_hash(secret))
            .first()
        )
        if token is None:
            raise TokenRefused("unknown_token", "This token does not exist.")
        self._refuse_if_dead(token)
        return token.user, token

    @staticmethod
    def _refuse_if_dead(token: ReadToken) -> None:
        now = timezone.now()
        if token.revoked_at is not None:
            raise TokenRefused(
                "token_revoked",
                f"This token was revoked on {token.revoked_at:%Y-%m-%d %H:%M} UTC.",
                token,
            )
        if token.expires_at <= now:
            raise TokenRefused(
                "token_expired",
                f"This token expired on {token.expires_at:%Y-%m-%d %H:%M} UTC.",
                token,
            )
        grant = token.grant
        if not grant.is_active:
            if grant.revoked_at is not None:
                raise TokenRefused("grant_revoked", "The grant of this token was revoked.", token)
            raise TokenRefused(
                "grant_expired",
                f"The grant of this token expired on {grant.expires_at:%Y-%m-%d %H:%M} UTC.",
                token,
            )
        if not token.user.is_active:
            raise TokenRefused(
                "user_inactive", "The account owning this token is deactivated.", token
            )


class ReadTokenScheme(OpenApiAuthenticationExtension):
    target_class = "access_requests.api.authentication.ReadTokenAuthentication"
    name = "readToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "tvt_…",
            "description": "A read token minted on /access/ for an approved grant.",
        }
