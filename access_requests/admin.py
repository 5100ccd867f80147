"""Maintainers review requests here; auditors see everything and change nothing.

Requests and grants are never edited as rows: every decision is a service call
behind a small form (approve, reject, ask for information, revoke), so each is
checked against the state machine and audited in the same transaction.
"""

from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from access_requests import services
from access_requests.errors import error_text
from access_requests.forms import ApproveForm, ReasonForm
from access_requests.models import (
    REVIEW_PERMISSION,
    AccessRequest,
    Dataset,
    DataUseTerms,
    Export,
    Grant,
    Profile,
    ReadToken,
    RequestEvent,
)
from access_requests.selectors import (
    access_request_timeline,
    access_requests_overdue_condition,
    access_requests_with_overdue,
    applicant_history,
    grant_scope,
)
from ingest.dictionary import DictionaryEntry, dictionary_entries
from portal.admin import ReadOnlyAdmin

if TYPE_CHECKING:  # django-stubs' helper, a development dependency
    from django_stubs_ext import WithAnnotations

    from access_requests.selectors import OverdueAnnotation


class QueueFilter(admin.SimpleListFilter):
    """The queue opens on what waits for a decision; all, closed or one status on request.

    Unlike Django's field filter, no parameter means "open", not "all": a reviewer's
    first view is the work to do, oldest first."""

    title = "status"
    parameter_name = "status"
    OPEN, CLOSED, ALL = "open", "closed", "all"

    def lookups(self, request, model_admin):
        return [
            (self.OPEN, "Open: awaiting a decision"),
            *AccessRequest.Status.choices,
            (self.CLOSED, "Closed: decided or withdrawn"),
            (self.ALL, "All requests"),
        ]

    def value(self):
        return super().value() or self.OPEN

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.OPEN:
            return queryset.filter(status__in=AccessRequest.PENDING)
        if value == self.CLOSED:
            return queryset.exclude(status__in=AccessRequest.PENDING)
        if value in AccessRequest.Status.values:
            return queryset.filter(status=value)
        return queryset


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"

    def lookups(self, request, model_admin):
        return [
            ("overdue", f"Pending over {settings.ACCESS_REVIEW_SLA_DAYS} days"),
            ("week", "Filed in the last 7 days"),
            ("month", "Filed in the last 30 days"),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "overdue":
            return queryset.filter(access_requests_overdue_condition(now=now))
        if self.value() == "week":
            return queryset.filter(created_at__gte=now - timedelta(days=7))
        if self.value() == "month":
            return queryset.filter(created_at__gte=now - timedelta(days=30))
        return queryset


class DataAskedFilter(admin.SimpleListFilter):
    title = "data asked for"
    parameter_name = "data"

    def lookups(self, request, model_admin):
        return [(Dataset.REPORTS, "Daily reports"), (Dataset.ROLLUPS, "Daily rollups")]

    def queryset(self, request, queryset):
        if self.value() in Dataset.values:
            return queryset.filter(datasets__icontains=self.value())
        return queryset


DICTIONARY_PATH = "/dictionary/"  # the public data dictionary (ingest's page), by path


def element_entries(access_request: AccessRequest) -> list[dict]:
    """Each element asked for with its data dictionary entry, read against the policy
    version the request was filed under (an element it does not describe has none)."""
    by_key: dict[str, DictionaryEntry] = {
        entry.key: entry for entry in dictionary_entries(access_request.policy_version)
    }
    entries = [(key, by_key.get(key)) for key in access_request.elements]
    return [
        {
            "key": key,
            "entry": entry,
            "link": f"{DICTIONARY_PATH}#{entry.anchor}" if entry else DICTIONARY_PATH,
        }
        for key, entry in entries
    ]


def renewal_comparison(access_request: AccessRequest) -> dict | None:
    """For a renewal: what the original grant allowed beside what is asked now."""
    original = access_request.renewal_of
    if original is None:
        return None

    def row(label: str, then: str, now: str) -> dict:
        return {"label": label, "then": then, "now": now, "changed": then != now}

    then_days = round((original.expires_at - original.created_at).total_seconds() / 86400)
    return {
        "grant": original,
        "request": original.request,
        "rows": [
            row("Data", ", ".join(original.datasets), ", ".join(access_request.datasets)),
            row("Elements", ", ".join(original.elements), ", ".join(access_request.elements)),
            row(
                "Period of data",
                f"{original.period_start:%Y-%m-%d} to {original.period_end:%Y-%m-%d}",
                f"{access_request.period_start:%Y-%m-%d} to {access_request.period_end:%Y-%m-%d}",
            ),
            row("Access for (days)", str(then_days), str(access_request.duration_days)),
        ],
    }


def review_panels(access_request: AccessRequest) -> dict:
    """What a reviewer reads about a request, on its page and beside each decision form."""
    grant = Grant.objects.filter(request=access_request).first()
    return {
        "timeline": access_request_timeline(access_request=access_request),
        "applicant_history": applicant_history(access_request=access_request),
        "element_entries": element_entries(access_request),
        "granted": grant_scope(grant=grant) if grant is not None else None,
        "renewal": renewal_comparison(access_request),
    }


class RequestEventInline(admin.TabularInline):
    model = RequestEvent
    extra = 0
    fields = ("created_at", "kind", "actor", "message")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class DecisionViewMixin(admin.ModelAdmin):
    """A decision (approve, reject, ask for information, revoke) is a small form on its
    own page: a valid POST calls one service, whose refusal is shown as the admin's error
    message, and goes back to the row's page. Only reviewers open the form."""

    decision_template = "admin/access_requests/decision_form.html"

    def decision_view(
        self,
        request,
        pk,
        *,
        form_class,
        title: str,
        button: str,
        decide,
        done: str,
        form_kwargs=None,
        initial=None,
    ):
        if not request.user.has_perm(REVIEW_PERMISSION):
            raise PermissionDenied
        obj = get_object_or_404(self.model, pk=pk)
        form = form_class(request.POST or None, initial=initial, **(form_kwargs or {}))
        if request.method == "POST" and form.is_valid():
            try:
                decide(obj, form.cleaned_data)
            except (ValidationError, PermissionDenied) as exc:
                self.message_user(request, error_text(exc), messages.ERROR)
            else:
                self.message_user(request, done)
            opts = self.model._meta
            return redirect(f"admin:{opts.app_label}_{opts.model_name}_change", pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "form": form,
            "original": obj,
            "button": button,
            **self.decision_context(obj),
        }
        return TemplateResponse(request, self.decision_template, context)

    def decision_context(self, obj) -> dict:
        """What the decision page shows beside its form: nothing more by default."""
        return {}


@admin.register(AccessRequest)
class AccessRequestAdmin(DecisionViewMixin, ReadOnlyAdmin):
    list_display = (
        "id",
        "purpose",
        "applicant",
        "affiliation",
        "status",
        "renewal",
        "waiting",
        "filed",
    )
    list_select_related = ("applicant",)
    list_filter = (QueueFilter, AgeFilter, DataAskedFilter)
    search_fields = ("applicant__email", "applicant__username", "affiliation", "purpose")
    ordering = ("created_at", "pk")  # oldest first: the longest wait is reviewed first
    inlines = [RequestEventInline]
    change_form_template = "admin/access_requests/accessrequest/change_form.html"
    exclude = ("datasets", "elements")  # shown as readable lists by the two methods below
    readonly_fields = (
        "applicant",
        "status",
        "purpose",
        "justification",
        "intended_use",
        "publication_plans",
        "affiliation",
        "datasets_asked",
        "elements_asked",
        "period_start",
        "period_end",
        "duration_days",
        "terms",
        "policy_version",
        "created_at",
        "decided_at",
        "history",
    )

    @admin.display(description="Data asked for")
    def datasets_asked(self, obj: AccessRequest) -> str:
        return ", ".join(obj.datasets) or "none"

    @admin.display(description="Elements asked for")
    def elements_asked(self, obj: AccessRequest) -> str:
        return ", ".join(obj.elements) or "none"

    @admin.display(description="Age", ordering="created_at")
    def waiting(self, obj: "WithAnnotations[AccessRequest, OverdueAnnotation]") -> str:
        """Days since it was filed, with a badge on the rows past the SLA, and no mark on
        the others."""
        days = (timezone.now() - obj.created_at).days
        age = f"{days} day{'' if days == 1 else 's'}"
        if not obj.is_overdue:
            return age
        return format_html('{} <span class="badge badge-overdue">{}</span>', age, "Overdue")

    @admin.display(description="Filed", ordering="created_at")
    def filed(self, obj: AccessRequest) -> str:
        return f"{obj.created_at:%Y-%m-%d}"

    @admin.display(description="Renewal", empty_value="")
    def renewal(self, obj: AccessRequest) -> str:
        if obj.renewal_of_id is None:
            return ""
        return format_html(
            '<span class="badge badge-renewal">Renewal of grant #{}</span>', obj.renewal_of_id
        )

    def get_queryset(self, request):
        return access_requests_with_overdue(super().get_queryset(request))

    @admin.display(description="The applicant's other requests and grants")
    def history(self, obj: AccessRequest):
        others = AccessRequest.objects.filter(applicant=obj.applicant).exclude(pk=obj.pk)
        grants = Grant.objects.filter(grantee=obj.applicant)
        rows = [
            format_html(
                '<li><a href="{}">#{}</a> {} ({}, {})</li>',
                reverse("admin:access_requests_accessrequest_change", args=[o.pk]),
                o.pk,
                o.purpose,
                o.get_status_display(),
                # format_html escapes its arguments into text first: a date's format spec
                # would meet a string, so the date is written before it is passed.
                f"{o.created_at:%Y-%m-%d}",
            )
            for o in others
        ]
        rows += [
            format_html(
                "<li>Grant #{}: {} until {}{}</li>",
                g.pk,
                ", ".join(g.elements),
                f"{g.expires_at:%Y-%m-%d}",
                " (revoked)" if g.revoked_at else "",
            )
            for g in grants
        ]
        if not rows:
            return "None: this is their first request."
        return format_html("<ul>{}</ul>", format_html_join("", "{}", ((row,) for row in rows)))

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        own = [
            path(
                "<int:pk>/approve/",
                self.admin_site.admin_view(self.approve_view),
                name="access_requests_accessrequest_approve",
            ),
            path(
                "<int:pk>/reject/",
                self.admin_site.admin_view(self.reject_view),
                name="access_requests_accessrequest_reject",
            ),
            path(
                "<int:pk>/ask-info/",
                self.admin_site.admin_view(self.ask_info_view),
                name="access_requests_accessrequest_ask_info",
            ),
        ]
        return own + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        access_request = self.get_object(request, object_id)
        can_review = False
        if access_request is not None and access_request.is_pending:
            refusal = services.access_request_review_refusal(
                access_request=access_request, reviewer=request.user
            )
            can_review = refusal is None
        panels = review_panels(access_request) if access_request is not None else {}
        return super().change_view(
            request,
            object_id,
            form_url,
            {**(extra_context or {}), "can_review": can_review, **panels},
        )

    def decision_context(self, obj) -> dict:
        return {"review": True, **review_panels(obj)}

    def _review_view(self, request, pk, title: str, decide, done: str, **form):
        return self.decision_view(
            request,
            pk,
            title=f"{title}: request #{pk}",
            button=title,
            decide=decide,
            done=f"Request #{pk}: {done}",
            **form,
        )

    def approve_view(self, request, pk):
        access_request = get_object_or_404(AccessRequest, pk=pk)
        initial = {
            "datasets": access_request.datasets,
            "elements": access_request.elements,
            "period_start": access_request.period_start,
            "period_end": access_request.period_end,
            "duration_days": access_request.duration_days,
        }
        return self._review_view(
            request,
            pk,
            "Approve",
            lambda access_request, decision: services.access_request_approve(
                request=access_request, reviewer=request.user, **decision
            ),
            "approved. The grant is active and the applicant has been emailed.",
            form_class=ApproveForm,
            form_kwargs={"access_request": access_request},
            initial=initial,
        )

    def reject_view(self, request, pk):
        return self._review_view(
            request,
            pk,
            "Reject",
            lambda access_request, decision: services.access_request_reject(
                request=access_request, reviewer=request.user, reason=decision["reason"]
            ),
            "rejected. The applicant has been emailed the reason.",
            form_class=ReasonForm,
        )

    def ask_info_view(self, request, pk):
        return self._review_view(
            request,
            pk,
            "Ask for more information",
            lambda access_request, decision: services.access_request_ask_info(
                request=access_request, reviewer=request.user, message=decision["reason"]
            ),
            "the applicant has been emailed your question; the request waits for the answer.",
            form_class=ReasonForm,
        )


@admin.register(Grant)
class GrantAdmin(DecisionViewMixin, ReadOnlyAdmin):
    list_display = (
        "id",
        "grantee",
        "request",
        "period_start",
        "period_end",
        "expires_at",
        "revoked_at",
    )
    list_filter = ("revoked_at", "expires_at")
    list_select_related = ("grantee", "request")
    search_fields = ("grantee__email", "grantee__username")
    exclude = ("pseudonym_key",)
    readonly_fields = (
        "request",
        "grantee",
        "datasets",
        "elements",
        "period_start",
        "period_end",
        "expires_at",
        "created_at",
        "created_by",
        "revoked_at",
        "revoked_by",
        "revoke_reason",
    )
    change_form_template = "admin/access_requests/grant/change_form.html"

    def get_urls(self):
        own = [
            path(
                "<int:pk>/revoke/",
                self.admin_site.admin_view(self.revoke_view),
                name="access_requests_grant_revoke",
            )
        ]
        return own + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        can_revoke = (
            obj is not None and obj.revoked_at is None and request.user.has_perm(REVIEW_PERMISSION)
        )
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "can_revoke": can_revoke}
        )

    def decision_context(self, obj) -> dict:
        return {"granted": grant_scope(grant=obj)}

    def revoke_view(self, request, pk):
        return self.decision_view(
            request,
            pk,
            form_class=ReasonForm,
            title=f"Revoke grant #{pk}",
            button="Revoke",
            decide=lambda grant, decision: services.grant_revoke(
                grant=grant, actor=request.user, reason=decision["reason"]
            ),
            done=f"Grant #{pk} is revoked.",
        )


@admin.register(Profile)
class ProfileAdmin(ReadOnlyAdmin):
    list_display = ("user", "display_name", "affiliation")
    list_select_related = ("user",)
    search_fields = ("user__email", "display_name", "affiliation")


@admin.register(DataUseTerms)
class DataUseTermsAdmin(ReadOnlyAdmin):
    list_display = ("version", "published_at")


@admin.register(ReadToken)
class ReadTokenAdmin(ReadOnlyAdmin):
    list_display = (
        "prefix",
        "name",
        "user",
        "grant",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    exclude = ("token_hash",)
    list_select_related = ("user", "grant__grantee")  # a grant is shown with its grantee
    search_fields = ("prefix", "user__email", "name")


@admin.register(Export)
class ExportAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "grant",
        "format",
        "state",
        "progress",
        "rows",
        "created_at",
        "expires_at",
    )
    list_filter = ("state", "format")
    list_select_related = ("grant__grantee",)
