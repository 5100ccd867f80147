from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from ingest.drift import OTHER_NAMES
from ingest.models import (
    DiscardedFieldCount,
    PolicyElement,
    PolicyVersion,
    Report,
    StatsRelease,
)
from ingest.parsing import PLATFORM_ID
from ingest.selectors import discarded_fields_by_day, released_against_exact
from ingest.services import (
    installation_digest,
    policy_elements_missing_refusal,
    policy_elements_unstorable_refusal,
    policy_version_draft,
    policy_version_publish,
)
from ingest.services.report_reads import report_admin_view_record, reports_admin_list_record
from portal.admin import ReadOnlyAdmin


class PolicyElementForm(forms.ModelForm):
    """One element of a draft, refused when it is saved if publishing would refuse it."""

    class Meta:
        model = PolicyElement
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
        widgets = {
            "key": forms.TextInput(attrs={"size": 16}),
            "note": forms.Textarea(attrs={"rows": 3, "cols": 24}),
            "rejection_reason": forms.Textarea(attrs={"rows": 3, "cols": 24}),
        }

    def clean(self):
        cleaned = super().clean() or {}
        decision, key = cleaned.get("decision"), cleaned.get("key")
        if decision == PolicyElement.Decision.APPROVED and key:
            refusal = policy_elements_unstorable_refusal([key])
            if refusal:  # shown across the row, above the element's fields
                self.add_error(None, refusal)
        if decision == PolicyElement.Decision.REJECTED and not cleaned.get("rejection_reason"):
            self.add_error("rejection_reason", f"{key or 'A rejected element'} needs its reason.")
        return cleaned


class PolicyElementFormSet(forms.BaseInlineFormSet):
    """The draft as a whole: the elements that key the daily row stay approved."""

    def clean(self):
        super().clean()
        if any(form.errors for form in self.forms):
            return
        approved = [
            form.cleaned_data.get("key")
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("decision") == PolicyElement.Decision.APPROVED
        ]
        refusal = policy_elements_missing_refusal(approved)
        if refusal:
            raise ValidationError(refusal)


class PolicyElementInline(admin.TabularInline):
    model = PolicyElement
    form = PolicyElementForm
    formset = PolicyElementFormSet
    extra = 0
    fields = PolicyElementForm.Meta.fields

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
    list_select_related = ("published_by",)
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

    def has_draft_permission(self, request) -> bool:
        """Who is offered "Draft a new version" (maintainers): the add permission, which
        the admin's own add page does not use (new versions start as a copy)."""
        return request.user.has_perm("ingest.add_policyversion")

    def has_publish_permission(self, request) -> bool:
        return request.user.has_perm("ingest.change_policyversion")

    @admin.action(description="Draft a new version from the selected one", permissions=["draft"])
    def draft_from_selected(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to copy.", messages.ERROR)
            return
        draft = policy_version_draft(source=queryset.get(), actor=request.user)
        self.message_user(request, f"Drafted v{draft.number}; edit its elements, then publish.")

    @admin.action(description="Publish the selected draft", permissions=["publish"])
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
    """Stored reports, each installation named by its keyed digest, never by its ID.

    A platformID is an installation's only credential (whoever holds it can overwrite the
    day's report, use up its daily limit or erase its history), so no page shows one.
    Staff helping an installation find it by its exact, full ID in the search box; a part
    of an ID matches nothing. Each page seen here is audited, a lookup with the digest.
    """

    list_display = (
        "report_date",
        "installation",
        "release",
        "cluster_count_bucket",
        "app_count_bucket",
        "browser_family",
        "revision",
    )
    list_filter = ("report_date",)
    search_fields = ("platform_id",)  # shows the search box; get_search_results matches
    search_help_text = (
        "An installation's exact, full platformID (a part matches nothing). "
        "The lookup is audited with the ID's keyed digest, never the ID."
    )
    show_full_result_count = False
    fields = (
        "installation",
        *(f.name for f in Report._meta.fields if f.name not in ("id", "platform_id")),
    )
    readonly_fields = ("installation",)

    @admin.display(description="Installation (keyed digest)")
    def installation(self, obj: Report) -> str:
        return installation_digest(obj.platform_id)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        if not PLATFORM_ID.fullmatch(term):
            return queryset.none(), False
        return queryset.filter(platform_id=term), False

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None:  # the page is shown (not a redirect or a refusal)
            reports_admin_list_record(
                user=request.user,
                parameters={k: v for k, v in request.GET.items() if k != SEARCH_VAR},
                rows=len(changelist.result_list),
                looked_up=changelist.query.strip() or None,
            )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        report = (getattr(response, "context_data", None) or {}).get("original")
        if response.status_code == 200 and report is not None:
            report_admin_view_record(user=request.user, report=report)
        return response


@admin.register(DiscardedFieldCount)
class DiscardedFieldCountAdmin(ReadOnlyAdmin):
    """Client drift: which fields clients send that the policy does not keep."""

    change_list_template = "admin/ingest/client_drift.html"
    rows_per_page = 100

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        since = timezone.now().date() - timedelta(days=30)
        # A day holds up to INGEST_DRIFT_MAX_NAMES_PER_DAY names: one page at a time.
        page = Paginator(discarded_fields_by_day(since=since), self.rows_per_page).get_page(
            request.GET.get("p")
        )
        context = {
            **self.admin_site.each_context(request),
            "title": "Client drift: discarded fields, last 30 days",
            "opts": self.model._meta,
            "rows": page.object_list,
            "page": page,
            "other_names": OTHER_NAMES,
            "max_names_per_day": settings.INGEST_DRIFT_MAX_NAMES_PER_DAY,
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
