"""What every admin page shares: read-only rows, no lookup on a secret, no NUL.

Django lets a changelist URL filter on any field of the model (``?field__startswith=``),
whether or not the page offers that filter. On a secret, that is an oracle: a key
recovered one character at a time. ``admin_secret_lookups_refuse`` therefore gives every
registered ModelAdmin (this project's, Django's, allauth's) the rule below: a lookup
that reaches a field of ``SECRET_FIELDS``, directly or through relations, is refused
with a 400 (Django's DisallowedModelAdminLookup). A parameter holding a NUL character is
refused with a 400 as well: PostgreSQL cannot compare text with one, and the query would
fail as a 500.
"""

import re

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpResponseBadRequest

from portal.models import AuditEvent

# model label -> fields holding a secret or a credential. A model that is not installed
# is simply never met.
SECRET_FIELDS = {
    "access_requests.grant": {"pseudonym_key"},
    "access_requests.readtoken": {"token_hash"},
    "ingest.report": {"platform_id"},  # an installation's credential; found by exact search
    "auth.user": {"password"},
    "mfa.authenticator": {"data"},
    "socialaccount.socialapp": {"secret"},
    "socialaccount.socialtoken": {"token", "token_secret"},
    "account.emailconfirmation": {"key"},
    "sessions.session": {"session_key", "session_data"},
}


def lookup_reaches_secret(model, lookup: str) -> bool:
    """Whether ``lookup`` (``grant__pseudonym_key__startswith``) reads a secret field."""
    for part in lookup.split(LOOKUP_SEP):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return False  # a transform or a lookup name: no further field
        if part in SECRET_FIELDS.get(model._meta.label_lower, ()):
            return True
        if not field.is_relation or field.related_model is None:
            return False
        model = field.related_model
    return False


def _holds_nul(query) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in query.lists())


class SecretLookupsRefused(admin.ModelAdmin):
    """Mixed into every registered ModelAdmin by ``admin_secret_lookups_refuse``.

    A ModelAdmin itself, so that ``self.model`` and ``super()`` are the admin's; placed
    first among the bases, it runs before the admin it is mixed into."""

    def lookup_allowed(self, lookup, value, request) -> bool:
        if lookup_reaches_secret(self.model, lookup):
            return False
        return super().lookup_allowed(lookup, value, request)

    def changelist_view(self, request, extra_context=None):
        if _holds_nul(request.GET) or _holds_nul(request.POST):
            return HttpResponseBadRequest(
                "A parameter holds a NUL character, which no field can hold.",
                content_type="text/plain; charset=utf-8",
            )
        return super().changelist_view(request, extra_context)


def admin_secret_lookups_refuse(site: admin.AdminSite | None = None) -> None:
    """Give every ModelAdmin of ``site`` the rule; run once every admin is registered."""
    site = site or admin.site
    for model_admin in site._registry.values():
        cls = type(model_admin)
        if not issubclass(cls, SecretLookupsRefused):
            model_admin.__class__ = type(
                cls.__name__, (SecretLookupsRefused, cls), {"__module__": cls.__module__}
            )


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that only services write: visible to those allowed to view, editable by nobody."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


ACCOUNT_ID = re.compile(r"[0-9]{1,18}")


class StaffActorFilter(admin.SimpleListFilter):
    """Who acted, among staff: a short list however many members the portal has.

    Members (grantees reading data, applicants) are found with the search box, which
    searches the actor's name.
    """

    title = "staff actor"
    parameter_name = "actor"
    NO_ACCOUNT = "none"

    def lookups(self, request, model_admin):
        staff = (
            get_user_model()
            .objects.filter(Q(is_staff=True) | Q(is_superuser=True))
            .order_by("username")
            .values_list("pk", "username")
        )
        return [(str(pk), username) for pk, username in staff] + [
            (self.NO_ACCOUNT, "no account (system, an installation, a deleted account)")
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.NO_ACCOUNT:
            return queryset.filter(actor__isnull=True)
        if value and ACCOUNT_ID.fullmatch(value):
            return queryset.filter(actor_id=int(value))
        return queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "actor_label", "action", "target_type", "target_id")
    list_filter = ("action", StaffActorFilter, "occurred_at")
    search_fields = ("actor_label", "action", "target_id")
    search_help_text = "Who acted (a username, an email), an action or a target id."
    date_hierarchy = "occurred_at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]


admin.site.site_header = "KubeVela telemetry portal: maintainers"
admin.site.site_title = "Telemetry portal admin"
admin.site.index_title = "Review, policy and audit"
