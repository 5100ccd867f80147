from datetime import UTC, datetime, time
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
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
    AccessRequestForm,
    ExportForm,
    MessageForm,
    ProfileForm,
    TokenForm,
)
from access_requests.models import Profile
from access_requests.selectors import (
    access_process_figures,
    access_request_get_for_user,
    access_requests_for_user,
    data_reads_for_user,
    export_get_for_user,
    grant_get_for_user,
    grants_public_register,
    token_get_for_user,
)
from ingest.models import PolicyElement
from ingest.selectors import policy_get_published
from portal.http import AuthenticatedHttpRequest


def access_home(request: HttpRequest) -> HttpResponse:
    """How to get access; for a signed-in member, their requests and their timelines."""
    context: dict[str, Any] = {"terms": services.terms_current()}
    if request.user.is_authenticated:
        context["requests"] = access_requests_for_user(user=request.user)
        context["answer_form"] = MessageForm()
        context["reads"] = data_reads_for_user(user=request.user)
        context["now"] = timezone.now()
    return render(request, "access_requests/home.html", context)


@login_required
def access_request_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:  # before the form is filled in; access_request_submit checks again
        services.applicant_email_verified_check(applicant=request.user)
    except services.EmailNotVerified as exc:
        messages.error(request, error_text(exc))
        return redirect("account_email")
    over_quota = quotas.request_quota_message(applicant=request.user)
    if over_quota and request.method != "POST":  # say so before the form is filled in
        messages.error(request, over_quota)
        return redirect("access-home")
    policy = policy_get_published()
    # A migration publishes policy v1, and publishing a version supersedes the one before,
    # so one is always published.
    assert policy is not None, "no published policy"
    approved = policy.elements.filter(decision=PolicyElement.Decision.APPROVED)
    elements = sorted(approved.values_list("key", flat=True))
    profile = Profile.objects.filter(user=request.user).first()
    form = AccessRequestForm(
        request.POST or None,
        elements=elements,
        initial={"affiliation": profile.affiliation if profile else ""},
    )
    terms = services.terms_current()
    if request.method == "POST" and form.is_valid():
        asked = dict(form.cleaned_data)
        asked.pop("accept_terms")
        assert terms is not None, "no data-use terms"  # a migration seeds version 1
        try:
            created = services.access_request_submit(applicant=request.user, terms=terms, **asked)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Request #{created.pk} was filed. We emailed you a copy.")
            return redirect("access-home")
    return render(
        request,
        "access_requests/request_form.html",
        {"form": form, "terms": terms, "policy": policy},
    )


def _act(request: AuthenticatedHttpRequest, pk: int, action) -> HttpResponse:
    access_request = access_request_get_for_user(user=request.user, pk=pk)
    try:
        action(access_request)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, error_text(exc))
    return redirect("access-home")


@login_required
@require_POST
def access_request_withdraw(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    def withdraw(access_request):
        services.access_request_withdraw(request=access_request, applicant=request.user)
        messages.success(request, f"Request #{access_request.pk} is withdrawn.")

    return _act(request, pk, withdraw)


@login_required
@require_POST
def access_request_answer(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    form = MessageForm(request.POST)

    def answer(access_request):
        if not form.is_valid():
            raise ValidationError("Write your answer before sending it.")
        services.access_request_answer(
            request=access_request, applicant=request.user, message=form.cleaned_data["message"]
        )
        messages.success(request, "Your answer was sent to the reviewers.")

    return _act(request, pk, answer)


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
        messages.success(request, "Your profile is saved.")
        return redirect("profile")
    return render(request, "access_requests/profile.html", {"form": form})


@login_required
@require_POST
def token_mint(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    grant = grant_get_for_user(user=request.user, pk=pk)
    form = TokenForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Name the token; an expiry, if given, must be a date.")
        return redirect("access-home")
    expires_on = form.cleaned_data["expires_on"]
    expires_at = datetime.combine(expires_on, time.max, tzinfo=UTC) if expires_on else None
    try:
        token, secret = services.token_mint(
            grant=grant, user=request.user, name=form.cleaned_data["name"], expires_at=expires_at
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, error_text(exc))
        return redirect("access-home")
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
    messages.success(request, f"Token {token.prefix}… is revoked; it stops working at once.")
    return redirect("access-home")


@login_required
@require_POST
def export_new(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    grant = grant_get_for_user(user=request.user, pk=pk)
    form = ExportForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a format and give the dates as YYYY-MM-DD.")
        return redirect("access-home")
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
                f"Export #{export.pk}, of the same format and period, is already "
                f"{export.get_state_display().lower()}: no new export was made.",
            )
        elif export.state == export.State.READY:
            messages.success(request, f"Export #{export.pk} is ready to download below.")
        else:
            messages.success(
                request,
                f"Export #{export.pk} is queued; we email you when it is "
                "ready. Reload this page to follow its progress.",
            )
    return redirect("access-home")


@login_required
def export_download(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    try:
        export = export_get_for_user(user=request.user, pk=pk)
    except Http404:
        _download_refused(request, pk, reason="not_found", status=404)
        raise
    if not export.grant.is_active:
        _download_refused(request, pk, reason="grant_inactive", status=302)
        messages.error(request, f"Export #{export.pk} is of a grant that has ended or was revoked.")
        return redirect("access-home")
    try:
        services.export_refuse_if_expired(export=export, via="page")
    except services.ExportExpired as exc:
        messages.error(request, str(exc))
        return redirect("access-home")
    if export.state != export.State.READY:
        messages.error(request, f"Export #{export.pk} is {export.state}, not ready.")
        return redirect("access-home")
    try:
        return export_file_response(export, request.user, via="page")
    except ExportGone as exc:  # its file was deleted while this request was under way
        messages.error(request, str(exc.detail))
        return redirect("access-home")


@login_required
def export_datasheet(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The export's datasheet (``?as=md`` for Markdown), refused like its file once the
    grant has ended or is revoked."""
    try:
        export = export_get_for_user(user=request.user, pk=pk)
    except Http404:
        _download_refused(request, pk, reason="not_found", status=404)
        raise
    if not export.grant.is_active:
        _download_refused(request, pk, reason="grant_inactive", status=302)
        messages.error(request, f"Export #{export.pk} is of a grant that has ended or was revoked.")
        return redirect("access-home")
    spelling = request.GET.get("as") or "json"
    if spelling not in DATASHEET_SPELLINGS:
        spelling = "json"
    try:
        return export_datasheet_response(export, request.user, via="page", spelling=spelling)
    except NoDatasheet as exc:
        messages.error(request, str(exc.detail))
        return redirect("access-home")


def _download_refused(
    request: AuthenticatedHttpRequest, pk: int, *, reason: str, status: int
) -> None:
    """Audited like the data API's refusals: coalesced per reason and account."""
    services.data_read_refused_record(
        reason=reason, status=status, endpoint=request.path, user=request.user, export_id=pk
    )
