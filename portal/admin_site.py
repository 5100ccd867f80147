"""The admin site: staff sign in through the site's sign-in, never a form of its own.

One sign-in (allauth) means one lockout (django-axes, per account, lifted by a password
reset) and one place for two-factor authentication. With STAFF_REQUIRE_MFA=1, staff
(maintainers, auditors, superusers: every account the admin would open for) are sent
to set up an authenticator app before any admin page opens.
"""

from allauth.account.decorators import secure_admin_login
from allauth.mfa.models import Authenticator
from django.contrib import admin, messages
from django.db import transaction
from django.shortcuts import redirect
from django.utils.translation import gettext

from portal.auth import staff_needs_mfa
from portal.services import audit_event_record


class PortalAdminSite(admin.AdminSite):
    def has_permission(self, request) -> bool:
        return super().has_permission(request) and not staff_needs_mfa(request.user)

    def login(self, request, extra_context=None):
        if staff_needs_mfa(request.user):
            messages.info(
                request,
                gettext(
                    "The admin requires two-factor authentication: set up an authenticator app."
                ),
            )
            return redirect("mfa_activate_totp")
        # Anonymous: to the site's sign-in (next= kept); signed in but not staff: 403.
        return secure_admin_login(super().login)(request, extra_context=extra_context)


class AuthenticatorAdmin(admin.ModelAdmin):
    """Who has two-factor authentication, never its secrets.

    A superuser may remove a lost authenticator (audited), so the owner can sign in with
    the password alone and set up a new one; nobody adds or edits one here.
    """

    list_display = ("user", "type", "created_at", "last_used_at")
    list_select_related = ("user",)
    list_filter = ("type",)
    search_fields = ("user__email",)
    fields = ("user", "type", "created_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def delete_model(self, request, obj) -> None:
        with transaction.atomic():
            self._audit_removal(request, obj)
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        with transaction.atomic():
            for authenticator in queryset.select_related("user"):
                self._audit_removal(request, authenticator)
            super().delete_queryset(request, queryset)

    def _audit_removal(self, request, authenticator: Authenticator) -> None:
        audit_event_record(
            action="account.mfa_removed",
            actor=request.user,
            target=authenticator.user,
            details={"type": authenticator.type},
        )


def authenticator_admin_replace() -> None:
    """allauth's own page for authenticators shows and edits their secrets: replace it."""
    if admin.site.is_registered(Authenticator):
        admin.site.unregister(Authenticator)
    admin.site.register(Authenticator, AuthenticatorAdmin)
