from datetime import timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from ingest.models import (
    DiscardedFieldCount,
    PolicyElement,
    PolicyVersion,
    Report,
    StatsRelease,
)
from ingest.selectors import discarded_fields_by_day, released_against_exact
from ingest.services import policy_version_draft, policy_version_publish
from portal.admin import ReadOnlyAdmin


class PolicyElementInline(admin.TabularInline):
    model = PolicyElement
    extra = 0
    fields = (
        "position",
        "key",
        "decision",
        "personal_info",
        "tracking_identifier",
        "sensitive_data",
        "note",
        "rejection_reason",
    )

    def has_change_permission(self, request, obj=None) -> bool:
        return _is_draft(obj) and super().has_change_permission(request, obj)

    def has_add_permission(self, request, obj=None) -> bool:
        return _is_draft(obj) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return _is_draft(obj) and super().has_delete_permission(request, obj)


def _is_draft(version: PolicyVersion | None) -> bool:
    return version is not None and version.status == PolicyVersion.Status.DRAFT


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    """Drafts are edited here; publishing goes through the audited service."""

    list_display = ("number", "status", "approved_on", "published_at", "published_by")
    list_filter = ("status",)
    inlines = [PolicyElementInline]
    actions = ["draft_from_selected", "publish_selected"]
    readonly_fields = ("number", "status", "created_at", "published_at", "published_by")
    fields = (
        "number",
        "status",
        "approved_on",
        "approval_reference",
        "summary",
        "created_at",
        "published_at",
        "published_by",
    )

    def has_add_permission(self, request) -> bool:
        return False  # new versions start as a copy: use the "Draft a new version" action

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and not _is_draft(obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return _is_draft(obj) and super().has_delete_permission(request, obj)

    @admin.action(description="Draft a new version from the selected one", permissions=["view"])
    def draft_from_selected(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to copy.", messages.ERROR)
            return
        if not request.user.has_perm("ingest.add_policyversion"):
            self.message_user(request, "You may not draft policy versions.", messages.ERROR)
            return
        draft = policy_version_draft(source=queryset.get(), actor=request.user)
        self.message_user(request, f"Drafted v{draft.number}; edit its elements, then publish.")

    @admin.action(description="Publish the selected draft", permissions=["change"])
    def publish_selected(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one draft to publish.", messages.ERROR)
            return
        try:
            version = policy_version_publish(
                version=queryset.get(), actor=request.user, approved_on=timezone.now().date()
            )
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        self.message_user(request, f"Published v{version.number}; the receiver now enforces it.")


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = (
        "report_date",
        "platform_id",
        "release",
        "cluster_count_bucket",
        "app_count_bucket",
        "browser_family",
        "revision",
    )
    list_filter = ("report_date",)
    search_fields = ("platform_id",)
    show_full_result_count = False


@admin.register(DiscardedFieldCount)
class DiscardedFieldCountAdmin(ReadOnlyAdmin):
    """Client drift: which fields clients send that the policy does not keep."""

    change_list_template = "admin/ingest/client_drift.html"

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        since = timezone.now().date() - timedelta(days=30)
        context = {
            **self.admin_site.each_context(request),
            "title": "Client drift: discarded fields, last 30 days",
            "opts": self.model._meta,
            "rows": discarded_fields_by_day(since=since),
            **(extra_context or {}),
        }

        return TemplateResponse(request, self.change_list_template, context)


@admin.register(StatsRelease)
class StatsReleaseAdmin(ReadOnlyAdmin):
    """Released days: what the public sees next to the exact counts (maintainers, auditors)."""

    list_display = ("day", "release_number", "released_at", "rho", "delta")
    date_hierarchy = "day"
    fields = ("day", "release_number", "released_at", "rho", "delta", "noise_scale", "threshold")
    readonly_fields = (*fields, "figures")

    def get_fields(self, request, obj=None):
        return (*self.fields, "figures") if obj else self.fields

    @admin.display(description="Released figures and exact counts")
    def figures(self, obj: StatsRelease) -> str:
        rows = released_against_exact(day=obj.day)
        if not rows:
            return "No figures."
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    r["dimension"],
                    r["label"],
                    "-" if r["released"] is None else r["released"],
                    "-" if r["exact"] is None else r["exact"],
                )
                for r in rows
            ),
        )
        return format_html(
            "<table><thead><tr><th>Dimension</th><th>Label</th><th>Released (noisy)</th>"
            "<th>Exact, as rolled up now</th></tr></thead><tbody>{}</tbody></table>",
            body,
        )
