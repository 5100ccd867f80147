import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.db.models import QuerySet, Sum

from ingest.catalogue import CATALOGUE
from ingest.models import (
    DailyRollup,
    DiscardedFieldCount,
    PolicyElement,
    PolicyVersion,
    PublicFigure,
)


@dataclass(frozen=True)
class EnforcedPolicy:
    """The slice of the published policy the receiver needs on every request."""

    version_id: int
    number: int
    approved: frozenset[str]


_cache: dict[str, Any] = {"loaded_at": 0.0, "policy": None}


def policy_get_enforced() -> EnforcedPolicy | None:
    """The published policy, cached per process for INGEST_POLICY_CACHE_SECONDS.

    Publishing clears the cache of the process that published; other processes
    pick the new version up within the cache period. Each report records the
    version that governed it.
    """
    now = time.monotonic()
    if _cache["policy"] is None or now - _cache["loaded_at"] > settings.INGEST_POLICY_CACHE_SECONDS:
        _cache["policy"] = _load_enforced_policy()
        _cache["loaded_at"] = now
    return _cache["policy"]


def policy_cache_clear() -> None:
    _cache["policy"] = None


def _load_enforced_policy() -> EnforcedPolicy | None:
    version = policy_get_published()
    if version is None:
        return None
    approved = version.elements.filter(decision=PolicyElement.Decision.APPROVED)
    keys = frozenset(approved.values_list("key", flat=True))
    return EnforcedPolicy(version.pk, version.number, keys)


def policy_get_published() -> PolicyVersion | None:
    return PolicyVersion.objects.filter(status=PolicyVersion.Status.PUBLISHED).first()


def policy_history() -> list[dict[str, Any]]:
    """Published and superseded versions, newest first, with what each changed."""
    versions = list(
        PolicyVersion.objects.exclude(status=PolicyVersion.Status.DRAFT)
        .order_by("number")
        .prefetch_related("elements")
    )
    history: list[dict[str, Any]] = []
    previous: dict[str, PolicyElement] = {}
    for version in versions:
        current = {e.key: e for e in version.elements.all()}
        approved = {k for k, e in current.items() if e.decision == PolicyElement.Decision.APPROVED}
        before = {k for k, e in previous.items() if e.decision == PolicyElement.Decision.APPROVED}
        history.append(
            {
                "version": version,
                "approved": sorted(approved),
                "added": sorted(approved - before) if previous else [],
                "removed": sorted(before - approved),
                "rejected": sorted(set(current) - approved),
            }
        )
        previous = current
    return list(reversed(history))


def element_document(element: PolicyElement) -> dict[str, Any]:
    spec = CATALOGUE.get(element.key)
    document: dict[str, Any] = {
        "name": element.key,
        "decision": element.decision,
        "could_be_personal_info": element.personal_info,
        "could_be_tracking_or_unique_identifier": element.tracking_identifier,
        "could_be_end_user_sensitive_or_business_data": element.sensitive_data,
        "note": element.note,
    }
    if element.decision == PolicyElement.Decision.APPROVED:
        document["client_fields"] = list(spec.client_fields) if spec else []
        document["stored_as"] = spec.stored_as if spec else ""
        if spec and not spec.client_fields:
            document["set_by"] = "receiver"
    else:
        document["reason"] = element.rejection_reason
    return document


def policy_document(version: PolicyVersion) -> dict[str, Any]:
    """The public description of a policy version, as /api/v1/policy returns it."""
    elements = list(version.elements.all())
    approved = [e for e in elements if e.decision == PolicyElement.Decision.APPROVED]
    rejected = [e for e in elements if e.decision == PolicyElement.Decision.REJECTED]
    host = settings.TELEMETRY_ENDPOINT_HOST
    return {
        "version": version.number,
        "status": version.status,
        "approved_on": version.approved_on.isoformat() if version.approved_on else None,
        "approval_reference": version.approval_reference,
        "published_at": version.published_at.isoformat() if version.published_at else None,
        "elements": [element_document(e) for e in approved],
        "rejected_elements": [element_document(e) for e in rejected],
        "endpoints": [
            {
                "method": "POST",
                "url": f"https://{host}/collecting",
                "purpose": "VelaUX's daily report",
            },
            {
                "method": "POST",
                "url": f"https://{host}/api/v1/reports",
                "purpose": "the same receiver, under the API prefix",
            },
            *(
                [
                    {
                        "method": "POST",
                        "url": f"https://{settings.TELEMETRY_LEGACY_HOST}/collecting",
                        "purpose": "VelaUX v1.1-v1.2's daily report (installID, raw counts)",
                    }
                ]
                if settings.TELEMETRY_LEGACY_HOST
                else []
            ),
            {
                "method": "DELETE",
                "url": f"https://{host}/api/v1/installations/<platformID>",
                "purpose": "opt out and erase an installation's reports",
            },
        ],
        "sending_frequency": {
            "client": "at most once a day per browser (VelaUX keeps a 24-hour cookie)",
            "stored": "one report per installation per UTC day; a later report that day "
            "replaces the earlier one",
        },
        "hosts": telemetry_hosts(),
        "retention_days": settings.REPORT_RETENTION_DAYS,
        "never_collected": [
            "clientIP",
            "region",
            "browserInfo.language",
            "browserInfo.screenHeight",
        ],
    }


def telemetry_hosts() -> list[str]:
    """Every host VelaUX sends to: today's, and the one of v1.1-v1.2 when it is served."""
    return [settings.TELEMETRY_ENDPOINT_HOST] + (
        [settings.TELEMETRY_LEGACY_HOST] if settings.TELEMETRY_LEGACY_HOST else []
    )


def discarded_fields_by_day(*, since: date) -> QuerySet:
    """Per day and name, the shards summed; lazy, so the admin page reads one page of it.

    At most INGEST_DRIFT_MAX_NAMES_PER_DAY + 1 rows a day (ingest.drift).
    """
    return (
        DiscardedFieldCount.objects.filter(report_date__gte=since)
        .values("report_date", "field_name")
        .annotate(total=Sum("count"))
        .order_by("-report_date", "-total", "field_name")
    )


def released_against_exact(*, day: date) -> list[dict[str, Any]]:
    """A released day's public figures beside the exact rollup (for maintainers only).

    Labels that were not released (below the threshold) appear with ``released`` None.
    """
    released = {(f.dimension, f.label): f.value for f in PublicFigure.objects.filter(day=day)}
    exact = {(r.dimension, r.value): r.installations for r in DailyRollup.objects.filter(day=day)}
    keys = sorted(set(released) | set(exact), key=lambda k: (k[0], -(exact.get(k) or 0), k[1]))
    return [
        {
            "dimension": d,
            "label": label,
            "released": released.get((d, label)),
            "exact": exact.get((d, label)),
        }
        for d, label in keys
        if exact.get((d, label)) or released.get((d, label), 0) > 0
    ]
