"""Reads of the access process that carry a rule: whose requests, which are overdue."""

from datetime import date, timedelta
from statistics import median
from typing import TypedDict

from django.conf import settings
from django.db.models import BooleanField, Count, ExpressionWrapper, Min, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext

from access_requests.models import AccessRequest, Export, Grant, ReadToken, RequestEvent
from portal.metrics import QueueFigures
from portal.models import AuditEvent

# The overview's state filter: a group of statuses by a plain name, or one status.
STATE_FILTERS: dict[str, tuple[str, ...]] = {
    "open": tuple(AccessRequest.PENDING),
    "approved": (AccessRequest.Status.APPROVED,),
    "closed": (AccessRequest.Status.REJECTED, AccessRequest.Status.WITHDRAWN),
    **{status: (status,) for status in AccessRequest.Status.values},
}
# How long after its end a grant may still be renewed (a revoked grant never is).
RENEWAL_WINDOW_DAYS = 90


class UnknownStateFilter(ValueError):
    """The overview was asked for a state it does not know."""


def access_requests_for_user(*, user, state: str = "") -> QuerySet[AccessRequest]:
    """The member's requests, newest first; ``state`` is a key of STATE_FILTERS or blank."""
    requests = AccessRequest.objects.filter(applicant=user)
    if state:
        if state not in STATE_FILTERS:
            known = ", ".join(STATE_FILTERS)
            raise UnknownStateFilter(
                gettext("There is no state '%(state)s'; choose one of: %(known)s.")
                % {"state": state, "known": known}
            )
        requests = requests.filter(status__in=STATE_FILTERS[state])
    return (
        requests.select_related("grant").prefetch_related("events").order_by("-created_at", "-pk")
    )


def access_request_get_with_grant_for_user(*, user, pk: int) -> AccessRequest:
    """The request's page: its timeline, and its grant's tokens and exports, in one go."""
    queryset = AccessRequest.objects.select_related(
        "grant", "renewal_of__request", "policy_version"
    )
    queryset = queryset.prefetch_related(
        "events__actor", "grant__tokens", "grant__exports", "grant__renewals"
    )
    return get_object_or_404(queryset, pk=pk, applicant=user)


def access_requests_similar_open(
    *,
    applicant,
    datasets: list[str],
    elements: list[str],
    period_start: date,
    period_end: date,
    exclude_pk: int | None = None,
) -> list[AccessRequest]:
    """The applicant's pending requests that ask for much the same thing: the same
    datasets, at least one element in common, and periods that overlap."""
    pending = AccessRequest.objects.filter(
        applicant=applicant,
        status__in=AccessRequest.PENDING,
        period_start__lte=period_end,
        period_end__gte=period_start,
    )
    if exclude_pk is not None:
        pending = pending.exclude(pk=exclude_pk)
    wanted = set(elements)
    return [
        request
        for request in pending.order_by("created_at", "pk")
        if sorted(request.datasets) == sorted(datasets) and wanted & set(request.elements)
    ]


def grant_renewal_refusal(*, grant: Grant, now=None) -> str | None:
    """Why this grant may not be renewed, or None: it must not be revoked, and must be
    active or have ended within the last RENEWAL_WINDOW_DAYS days."""
    now = now or timezone.now()
    if grant.revoked_at is not None:
        return gettext("Grant #%(pk)s was revoked; file a new request instead of a renewal.") % {
            "pk": grant.pk
        }
    if grant.expires_at < now - timedelta(days=RENEWAL_WINDOW_DAYS):
        return gettext(
            "Grant #%(pk)s ended more than %(days)s days ago; file a new request instead of a "
            "renewal."
        ) % {"pk": grant.pk, "days": RENEWAL_WINDOW_DAYS}
    return None


def grant_renewal_pending(*, grant: Grant) -> AccessRequest | None:
    """The renewal of this grant still waiting for a decision, if any: the one to follow
    or edit rather than file another. Reads the prefetched renewals when they are."""
    pending = [r for r in grant.renewals.all() if r.status in AccessRequest.PENDING]
    return max(pending, key=lambda r: (r.created_at, r.pk), default=None)


def grant_get_for_user(*, user, pk: int) -> Grant:
    return get_object_or_404(Grant, pk=pk, grantee=user)


def export_get_for_user(*, user, pk: int) -> Export:
    return get_object_or_404(Export, pk=pk, grant__grantee=user)


def export_get_for_grant(*, grant: Grant, pk: int) -> Export | None:
    """An export of this grant (the data API's token's); another grant's is None, as is
    an id that does not exist: the API answers both alike."""
    return Export.objects.filter(pk=pk, grant=grant).first()


def exports_for_grant(*, grant: Grant) -> QuerySet[Export]:
    """A grant's exports, newest first (the export history)."""
    return Export.objects.filter(grant=grant).order_by("-created_at", "-pk")


def token_get_for_user(*, user, pk: int) -> ReadToken:
    return get_object_or_404(ReadToken, pk=pk, user=user)


def data_reads_for_user(
    *, user, grant: Grant | None = None, limit: int = 50
) -> QuerySet[AuditEvent]:
    """The audit of reads made with the user's own tokens (of one grant, if given),
    newest first."""
    tokens = ReadToken.objects.filter(user=user)
    if grant is not None:
        tokens = tokens.filter(grant=grant)
    own_tokens = [str(pk) for pk in tokens.values_list("pk", flat=True)]
    return AuditEvent.objects.filter(
        action="data.read", target_type="access_requests.readtoken", target_id__in=own_tokens
    ).order_by("-occurred_at", "-id")[:limit]


def access_request_get_for_user(*, user, pk: int) -> AccessRequest:
    """An applicant's own request; anybody else's is a 404, never a 403 that confirms it."""
    return get_object_or_404(AccessRequest, pk=pk, applicant=user)


def access_requests_overdue_condition(*, now=None) -> Q:
    """Pending for longer than the review SLA: the one definition of "overdue", used by
    the maintainers' digest, the admin's filter and the admin's column."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ACCESS_REVIEW_SLA_DAYS)
    return Q(status__in=AccessRequest.PENDING, created_at__lt=cutoff)


class OverdueAnnotation(TypedDict):
    """What access_requests_with_overdue adds to each request (for the type checker)."""

    is_overdue: bool


def access_requests_with_overdue(queryset: QuerySet[AccessRequest]) -> QuerySet[AccessRequest]:
    """The requests, each with ``is_overdue`` computed by the database."""
    overdue = ExpressionWrapper(access_requests_overdue_condition(), output_field=BooleanField())
    return queryset.annotate(is_overdue=overdue)


def access_requests_overdue(*, now=None) -> QuerySet[AccessRequest]:
    return AccessRequest.objects.filter(access_requests_overdue_condition(now=now)).order_by(
        "created_at", "pk"
    )


def queue_figures(*, now=None) -> QueueFigures:
    """What waits for maintainers and workers, for the metrics endpoint: three aggregate
    queries, whatever the number of rows."""
    now = now or timezone.now()
    requests = AccessRequest.objects.filter(status__in=AccessRequest.PENDING).aggregate(
        pending=Count("pk"),
        overdue=Count("pk", filter=access_requests_overdue_condition(now=now)),
        oldest=Min("created_at"),
    )
    waiting = (
        Export.objects.filter(state__in=[Export.State.QUEUED, Export.State.RUNNING])
        .values("state")
        .annotate(count=Count("pk"), oldest=Min("created_at"))
    )
    return QueueFigures(
        requests_pending=requests["pending"],
        requests_overdue=requests["overdue"],
        request_oldest_pending_age=_age(now, requests["oldest"]),
        exports_waiting={row["state"]: row["count"] for row in waiting},
        export_oldest_waiting_age={row["state"]: _age(now, row["oldest"]) for row in waiting},
    )


def _age(now, since) -> float:
    return max(0.0, (now - since).total_seconds()) if since else 0.0


def grants_public_register() -> QuerySet[Grant]:
    """Every approved use, for the public register (revoked and expired ones included)."""
    return Grant.objects.select_related("request").order_by("-created_at")


def access_process_figures(*, now=None) -> dict:
    """Requests received and decided over the last 12 months, and the median days to decide."""
    now = now or timezone.now()
    since = now - timedelta(days=365)
    recent = AccessRequest.objects.filter(created_at__gte=since)
    counts = {status: 0 for status in AccessRequest.Status.values}
    for status in recent.values_list("status", flat=True):
        counts[status] += 1
    decided = recent.filter(
        status__in=[AccessRequest.Status.APPROVED, AccessRequest.Status.REJECTED],
        decided_at__isnull=False,
    ).values_list("created_at", "decided_at")
    durations = [
        (decided_at - created).total_seconds() / 86400
        for created, decided_at in decided
        if decided_at is not None  # excluded by the query already; said for the checker
    ]
    return {
        "received": recent.count(),
        "approved": counts[AccessRequest.Status.APPROVED],
        "rejected": counts[AccessRequest.Status.REJECTED],
        "withdrawn": counts[AccessRequest.Status.WITHDRAWN],
        "pending": sum(counts[s] for s in AccessRequest.PENDING),
        "median_days_to_decision": round(median(durations), 1) if durations else None,
    }


# --- what a reviewer reads beside a request (the admin's review pages) --------------------


def grant_state(grant: Grant, *, now=None) -> str:
    """active, ended (past its expiry) or revoked: the three words the review pages use."""
    if grant.revoked_at is not None:
        return "revoked"
    if grant.expires_at <= (now or timezone.now()):
        return "ended"
    return "active"


class GrantScope(TypedDict):
    grant: Grant
    state: str
    tokens: int
    active_tokens: int
    exports: int


def grant_scope(*, grant: Grant, now=None) -> GrantScope:
    """What a grant allows and how it is used: its state and its tokens and exports."""
    now = now or timezone.now()
    active_tokens = grant.tokens.filter(revoked_at__isnull=True, expires_at__gt=now)
    return {
        "grant": grant,
        "state": grant_state(grant, now=now),
        "tokens": grant.tokens.count(),
        "active_tokens": active_tokens.count(),
        "exports": grant.exports.count(),
    }


class ApplicantHistory(TypedDict):
    requests: list[AccessRequest]
    grants: list[Grant]


def applicant_history(*, access_request: AccessRequest) -> ApplicantHistory:
    """The applicant's other requests and every grant they hold or held, oldest first."""
    applicant = access_request.applicant_id
    return {
        "requests": list(
            AccessRequest.objects.filter(applicant_id=applicant)
            .exclude(pk=access_request.pk)
            .order_by("created_at", "pk")
        ),
        "grants": list(
            Grant.objects.filter(grantee_id=applicant)
            .select_related("request")
            .order_by("created_at", "pk")
        ),
    }


def access_request_timeline(*, access_request: AccessRequest) -> QuerySet[RequestEvent]:
    """Every step of the request with its message: the applicant's answers included."""
    return access_request.events.select_related("actor").order_by("created_at", "id")
