"""Every write of read tokens, and the audit of every read made with one.

Only the token's SHA-256 is stored (access_requests/tokens.py says why that is enough);
its secret is shown once, to the grantee who minted it.
"""

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from access_requests import quotas
from access_requests.models import Grant, ReadToken
from access_requests.tokens import token_display_prefix, token_generate, token_hash
from portal.services import audit_event_record


def token_mint(*, grant: Grant, user: User, name: str, expires_at=None) -> tuple[ReadToken, str]:
    """Create a token and return it with its secret, which is never stored nor shown again."""
    if grant.grantee_id != user.pk:
        raise PermissionDenied(gettext("Only the grantee mints tokens for a grant."))
    if not grant.is_active:
        raise ValidationError(
            gettext("This grant is revoked or expired: no new token can be made.")
        )
    if not name.strip():
        raise ValidationError(gettext("Name the token, so you know where it is used."))
    expires_at = expires_at or grant.expires_at
    if expires_at > grant.expires_at:
        raise ValidationError(
            gettext("A token cannot outlive its grant (%(until)s UTC).")
            % {"until": f"{grant.expires_at:%Y-%m-%d %H:%M}"}
        )
    if expires_at <= timezone.now():
        raise ValidationError(gettext("The expiry must be in the future."))
    secret = token_generate()
    with transaction.atomic():
        quotas.token_quota_check(grant=quotas.grant_lock(grant=grant))
        token = ReadToken.objects.create(
            grant=grant,
            user=user,
            name=name.strip(),
            prefix=token_display_prefix(secret),
            token_hash=token_hash(secret),
            expires_at=expires_at,
        )
        audit_event_record(
            action="token.minted",
            actor=user,
            target=token,
            after={
                "prefix": token.prefix,
                "name": token.name,
                "expires_at": expires_at.isoformat(),
                "grant": grant.pk,
            },
        )
    return token, secret


def token_revoke(*, token: ReadToken, user: User) -> ReadToken:
    if token.user_id != user.pk:
        raise PermissionDenied(gettext("Only the token's owner revokes it here."))
    with transaction.atomic():
        token = ReadToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit_event_record(
                action="token.revoked",
                actor=user,
                target=token,
                before={"revoked_at": None},
                after={"revoked_at": token.revoked_at.isoformat()},
            )
    return token


def data_read_record(*, token: ReadToken, endpoint: str, parameters: dict, rows: int) -> None:
    """Every read through the data API leaves one audit row, with the token's prefix."""
    with transaction.atomic():
        ReadToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        audit_event_record(
            action="data.read",
            actor=token.user,
            target=token,
            details={
                "token": token.prefix,
                "grant": token.grant_id,
                "endpoint": endpoint,
                "parameters": _storable_parameters(parameters),
                "rows": rows,
            },
        )


def _storable_parameters(parameters: dict) -> dict:
    """The query parameters as the audit row can hold them: PostgreSQL's jsonb refuses
    NUL, so a parameter holding one (valid or not, it is recorded) shows U+FFFD instead."""

    def storable(text):
        return text.replace("\x00", "\ufffd") if isinstance(text, str) else text

    return {storable(name): storable(value) for name, value in parameters.items()}
