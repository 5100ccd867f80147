from datetime import UTC, datetime, time
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from access_requests import grant_scope, quotas, services
from access_requests.downloads import (
    DATASHEET_SPELLINGS,
    ExportGone,
    NoDatasheet,
    export_datasheet_response,
    export_file_response,
)
from access_requests.errors import error_text
from access_requests.forms import (
    AccessRequestEditForm,
    AccessRequestForm,
    ExportForm,
    MessageForm,
    ProfileForm,
    TokenForm,
)
from access_requests.models import Export, Grant, Profile, RequestEvent
from access_requests.selectors import (
    UnknownStateFilter,
    access_process_figures,
    access_request_get_for_user,
    access_request_get_with_grant_for_user,
    access_requests_for_user,
    access_requests_similar_open,
    data_reads_for_user,
    export_get_for_user,
    grant_get_for_user,
    grant_renewal_pending,
    grant_renewal_refusal,
    grants_public_register,
    token_get_for_user,
)
from ingest.models import PolicyElement
from ingest.selectors import policy_get_published
from portal.http import AuthenticatedHttpRequest


def access_home(request: HttpRequest) -> HttpResponse:
    """How to get access; for a signed-in member, an overview of their requests."""
    context: dict[str, Any] = {"terms": services.terms_current()}
    if request.user.is_authenticated:
        state = request.GET.get("state", "")
        try:
            requests = access_requests_for_user(user=request.user, state=state)
        except UnknownStateFilter as exc:
            messages.error(request, str(exc))
            state, requests = "", access_requests_for_user(user=request.user)
        paginator = Paginator(requests, REQUESTS_PER_PAGE)
        page = paginator.get_page(request.GET.get("page"))
        context["page"] = page
        context["rows"] = [(item, _latest_question(item)) for item in page]
        context["state"] = state
        context["states"] = STATE_CHOICES
    return render(request, "access_requests/home.html", context)


def _latest_question(access_request) -> str:
    """What the reviewers asked last, shown on the overview while an answer is due."""
    asked = [e for e in access_request.events.all() if e.kind == RequestEvent.Kind.INFO_REQUESTED]
    return asked[-1].message if asked else ""


REQUESTS_PER_PAGE = 10
STATE_CHOICES = [
    ("", gettext_lazy("All")),
    ("open", gettext_lazy("Open (waiting for a decision)")),
    ("approved", pgettext_lazy("request status", "Approved")),
    ("closed", gettext_lazy("Closed (rejected or withdrawn)")),
]


@login_required
def access_request_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """One request: what was asked, its timeline, and what was granted, with the grant's
    tokens, exports and the reads made with them."""
    access_request = access_request_get_with_grant_for_user(user=request.user, pk=pk)
    grant = getattr(access_request, "grant", None)
    context: dict[str, Any] = {
        "item": access_request,
        "grant": grant,
        "elements": _element_notes(access_request),
        "answer_form": MessageForm(),
        "now": timezone.now(),
    }
    if grant is not None:
        context["reads"] = data_reads_for_user(user=request.user, grant=grant)
        context["renewal_refusal"] = grant_renewal_refusal(grant=grant)
        context["pending_renewal"] = grant_renewal_pending(grant=grant)
    return render(request, "access_requests/request_detail.html", context)


def _element_notes(access_request) -> list[tuple[str, str]]:
    """Each element asked for, with what the request's policy version says of it."""
    notes = dict(access_request.policy_version.elements.values_list("key", "note"))
    return [(key, notes.get(key, "")) for key in access_request.elements]


def _back_to_request(pk: int) -> HttpResponse:
    return redirect("access-request-detail", pk=pk)


def _approved_element_keys() -> list[str]:
    policy = policy_get_published()
    # A migration publishes policy v1, and publishing a version supersedes the one before,
    # so one is always published.
    assert policy is not None, "no published policy"
    approved = policy.elements.filter(decision=PolicyElement.Decision.APPROVED)
    return sorted(approved.values_list("key", flat=True))


def _may_file_or_redirect(request: AuthenticatedHttpRequest) -> HttpResponse | None:
    """Before a form to file is shown: a verified address, and room in the quota."""
    try:  # before the form is filled in; access_request_submit checks again
        services.applicant_email_verified_check(applicant=request.user)
    except services.EmailNotVerified as exc:
        messages.error(request, error_text(exc))
        return redirect("account_email")
    over_quota = quotas.request_quota_message(applicant=request.user)
    if over_quota and request.method != "POST":  # say so before the form is filled in
        messages.error(request, over_quota)
        return redirect("access-home")
    return None


@login_required
def access_request_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    refused = _may_file_or_redirect(request)
    if refused:
        return refused
    profile = Profile.objects.filter(user=request.user).first()
    initial = {"affiliation": profile.affiliation if profile else ""}
    return _filing_page(request, initial=initial, renewal_of=None)


@login_required
def grant_renew(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The request form, filled in from the grant and the request it came from."""
    grant = grant_get_for_user(user=request.user, pk=pk)
    refusal = grant_renewal_refusal(grant=grant)
    if refusal:
        messages.error(request, refusal)
        return _back_to_request(grant.request_id)
    pending = grant_renewal_pending(grant=grant)
    if pending is not None:
        messages.info(
            request,
            gettext(
                "Grant #%(pk)s already has a renewal waiting for a decision: request "
                "#%(renewal)s, shown here. Edit it rather than file another."
            )
            % {"pk": grant.pk, "renewal": pending.pk},
        )
        return _back_to_request(pending.pk)
    refused = _may_file_or_redirect(request)
    if refused:
        return refused
    asked = grant.request
    offered = set(_approved_element_keys())
    initial = {
        "purpose": asked.purpose,
        "justification": asked.justification,
        "intended_use": asked.intended_use,
        "publication_plans": asked.publication_plans,
        "affiliation": asked.affiliation,
        "datasets": grant.datasets,
        "elements": [key for key in grant.elements if key in offered],
        "period_start": grant.period_start,
        "period_end": grant.period_end,
        "duration_days": asked.duration_days,
    }
    return _filing_page(request, initial=initial, renewal_of=grant)


def _filing_page(
    request: AuthenticatedHttpRequest, *, initial: dict, renewal_of: Grant | None
) -> HttpResponse:
    """The form to file a request (or a renewal). When a similar request is open, the
    page names it and filing needs a tick that says the member knows."""
    elements = _approved_element_keys()
    data = request.POST if request.method == "POST" else None
    form = AccessRequestForm(
        data, elements=elements, initial=initial, confirm_similar="file_anyway" in request.POST
    )
    scope = form.cleaned_data if data is not None and form.is_valid() else initial
    similar = _similar_open(request.user, scope) if scope.get("elements") else []
    if similar and "file_anyway" not in form.fields:
        form = AccessRequestForm(data, elements=elements, initial=initial, confirm_similar=True)
    terms = services.terms_current()
    deliberate = not similar or (
        form.is_bound and form.is_valid() and form.cleaned_data["file_anyway"]
    )
    if data is not None and form.is_valid() and deliberate:
        asked = {name: form.cleaned_data[name] for name in services.EDITABLE_FIELDS}
        assert terms is not None, "no data-use terms"  # a migration seeds version 1
        try:
            created = services.access_request_submit(
                applicant=request.user, terms=terms, renewal_of=renewal_of, **asked
            )
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, error_text(exc))
        else:
            messages.success(
                request,
                gettext("Request #%(pk)s was filed. We emailed you a copy.") % {"pk": created.pk},
            )
            return _back_to_request(created.pk)
    return render(
        request,
        "access_requests/request_form.html",
        {
            "form": form,
            "terms": terms,
            "policy": policy_get_published(),
            "similar": similar,
            "renewal_of": renewal_of,
        },
    )


def _similar_open(user, scope: dict) -> list:
    if not (scope.get("datasets") and scope.get("period_start") and scope.get("period_end")):
        return []
    return access_requests_similar_open(
        applicant=user,
        datasets=list(scope["datasets"]),
        elements=list(scope["elements"]),
        period_start=scope["period_start"],
        period_end=scope["period_end"],
    )


@login_required
def access_request_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    access_request = access_request_get_for_user(user=request.user, pk=pk)
    if not access_request.is_pending:
        messages.error(
            request,
            gettext(
                "Request #%(pk)s is %(status)s; only a request waiting for a decision can be "
                "edited."
            )
            % {"pk": access_request.pk, "status": access_request.get_status_display().lower()},
        )
        return _back_to_request(access_request.pk)
    form = AccessRequestEditForm(
        request.POST or None,
        elements=sorted(set(_approved_element_keys()) | set(access_request.elements)),
        initial={name: getattr(access_request, name) for name in services.EDITABLE_FIELDS},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.access_request_edit(
                request=access_request, applicant=request.user, **form.cleaned_data
            )
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, error_text(exc))
        else:
            messages.success(
                request, gettext("Request #%(pk)s is updated.") % {"pk": access_request.pk}
            )
            return _back_to_request(access_request.pk)
    return render(
        request,
        "access_requests/request_form.html",
        {"form": form, "policy": access_request.policy_version, "editing": access_request},
    )


@login_required
def access_request_withdraw(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST withdraws."""
    access_request = access_request_get_for_user(user=request.user, pk=pk)
    if request.method != "POST":
        return render(request, "access_requests/withdraw_confirm.html", {"item": access_request})
    try:
        services.access_request_withdraw(request=access_request, applicant=request.user)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(
            request, gettext("Request #%(pk)s is withdrawn.") % {"pk": access_request.pk}
        )
    return _back_to_request(access_request.pk)


@login_required
@require_POST
def access_request_answer(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    access_request = access_request_get_for_user(user=request.user, pk=pk)
    form = MessageForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(gettext("Write your answer before sending it."))
        services.access_request_answer(
            request=access_request, applicant=request.user, message=form.cleaned_data["message"]
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, gettext("Your answer was sent to the reviewers."))
    return _back_to_request(access_request.pk)


def register(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "access_requests/register.html",
        {
            "grants": grants_public_register(),
            "figures": access_process_figures(),
        },
    )


@login_required
def profile(request: AuthenticatedHttpRequest) -> HttpResponse:
    current = Profile.objects.filter(user=request.user).first()
    form = ProfileForm(
        request.POST or None,
        initial={
            "display_name": current.display_name if current else "",
            "affiliation": current.affiliation if current else "",
        },
    )
    if request.method == "POST" and form.is_valid():
        services.profile_update(user=request.user, **form.cleaned_data)
        messages.success(request, gettext("Your profile is saved."))
        return redirect("profile")
    return render(request, "access_requests/profile.html", {"form": form})


@login_required
@require_POST
def token_mint(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    grant = grant_get_for_user(user=request.user, pk=pk)
    form = TokenForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Name the token; an expiry, if given, must be a date."))
        return _back_to_request(grant.request_id)
    expires_on = form.cleaned_data["expires_on"]
    expires_at = datetime.combine(expires_on, time.max, tzinfo=UTC) if expires_on else None
    try:
        token, secret = services.token_mint(
            grant=grant, user=request.user, name=form.cleaned_data["name"], expires_at=expires_at
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, error_text(exc))
        return _back_to_request(grant.request_id)
    response = render(
        request, "access_requests/token_created.html", {"token": token, "secret": secret}
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    token = token_get_for_user(user=request.user, pk=pk)
    services.token_revoke(token=token, user=request.user)
    messages.success(
        request,
        gettext("Token %(prefix)s… is revoked; it stops working at once.")
        % {"prefix": token.prefix},
    )
    return _back_to_request(token.grant.request_id)


@login_required
@require_POST
def export_new(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    grant = grant_get_for_user(user=request.user, pk=pk)
    form = ExportForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Choose a format and give the dates as YYYY-MM-DD."))
        return _back_to_request(grant.request_id)
    try:
        export, created = services.export_request_or_reuse(
            grant=grant,
            user=request.user,
            file_format=form.cleaned_data["format"],
            first=form.cleaned_data["period_from"],
            last=form.cleaned_data["period_to"],
        )
    except (ValidationError, PermissionDenied, ValueError, grant_scope.GrantScopeError) as exc:
        messages.error(request, error_text(exc))
    else:
        export.refresh_from_db(fields=["state"])
        if not created:
            messages.success(
                request,
                gettext(
                    "Export #%(pk)s, of the same format and period, is already %(state)s: no "
                    "new export was made."
                )
                % {"pk": export.pk, "state": export.get_state_display().lower()},
            )
        elif export.state == export.State.READY:
            messages.success(
                request, gettext("Export #%(pk)s is ready to download below.") % {"pk": export.pk}
            )
        else:
            messages.success(
                request,
                gettext(
                    "Export #%(pk)s is queued; we email you when it is ready. Reload this page "
                    "to follow its progress."
                )
                % {"pk": export.pk},
            )
    return _back_to_request(grant.request_id)


def _export_of_an_active_grant(request: AuthenticatedHttpRequest, pk: int) -> Export | HttpResponse:
    """The member's export while its grant is active; else the refusal, audited like the
    data API's (a 404 for someone else's, back to the request's page once it has ended)."""
    try:
        export = export_get_for_user(user=request.user, pk=pk)
    except Http404:
        _download_refused(request, pk, reason="not_found", status=404)
        raise
    if not export.grant.is_active:
        _download_refused(request, pk, reason="grant_inactive", status=302)
        messages.error(request, _grant_ended(export.pk))
        return _back_to_request(export.grant.request_id)
    return export


@login_required
def export_download(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    export = _export_of_an_active_grant(request, pk)
    if isinstance(export, HttpResponse):
        return export
    try:
        services.export_refuse_if_expired(export=export, via="page")
    except services.ExportExpired as exc:
        messages.error(request, str(exc))
        return _back_to_request(export.grant.request_id)
    if export.state != export.State.READY:
        messages.error(
            request,
            gettext("Export #%(pk)s is %(state)s, not ready.")
            % {"pk": export.pk, "state": export.get_state_display().lower()},
        )
        return _back_to_request(export.grant.request_id)
    try:
        return export_file_response(export, request.user, via="page")
    except ExportGone as exc:  # its file was deleted while this request was under way
        messages.error(request, str(exc.detail))
        return _back_to_request(export.grant.request_id)


@login_required
def export_datasheet(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The export's datasheet (``?as=md`` for Markdown), refused like its file once the
    grant has ended or is revoked."""
    export = _export_of_an_active_grant(request, pk)
    if isinstance(export, HttpResponse):
        return export
    spelling = request.GET.get("as") or "json"
    if spelling not in DATASHEET_SPELLINGS:
        spelling = "json"
    try:
        return export_datasheet_response(export, request.user, via="page", spelling=spelling)
    except NoDatasheet as exc:
        messages.error(request, str(exc.detail))
        return _back_to_request(export.grant.request_id)


def _grant_ended(pk: int) -> str:
    return gettext("Export #%(pk)s is of a grant that has ended or was revoked.") % {"pk": pk}


def _download_refused(
    request: AuthenticatedHttpRequest, pk: int, *, reason: str, status: int
) -> None:
    """Audited like the data API's refusals: coalesced per reason and account."""
    services.data_read_refused_record(
        reason=reason, status=status, endpoint=request.path, user=request.user, export_id=pk
    )
