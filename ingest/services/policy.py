from datetime import date

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ingest.catalogue import CATALOGUE, REQUIRED_KEYS
from ingest.models import PolicyElement, PolicyVersion
from ingest.selectors import policy_cache_clear
from portal.services import audit_event_record


def policy_version_draft(*, source: PolicyVersion, actor: User) -> PolicyVersion:
    """Start a new draft version as a copy of ``source``."""
    with transaction.atomic():
        last = PolicyVersion.objects.select_for_update().order_by("-number").first()
        draft = PolicyVersion.objects.create(
            number=(last.number if last else 0) + 1,
            summary=f"Draft based on v{source.number}.",
        )
        PolicyElement.objects.bulk_create(
            PolicyElement(
                policy_version=draft,
                key=e.key,
                decision=e.decision,
                personal_info=e.personal_info,
                tracking_identifier=e.tracking_identifier,
                sensitive_data=e.sensitive_data,
                note=e.note,
                rejection_reason=e.rejection_reason,
                position=e.position,
            )
            for e in source.elements.all()
        )
        audit_event_record(
            action="policy.drafted", actor=actor, target=draft, details={"from": source.number}
        )
    return draft


def policy_elements_unstorable_refusal(approved_keys) -> str | None:
    """Why these approved elements cannot be published, or None: the receiver stores only
    the elements its catalogue knows. The admin asks when a draft is saved, publishing
    asks again."""
    unknown = sorted(set(approved_keys) - set(CATALOGUE))
    if not unknown:
        return None
    return (
        f"The receiver cannot store {', '.join(unknown)}: approve only elements it knows "
        f"({', '.join(CATALOGUE)})."
    )


def policy_elements_missing_refusal(approved_keys) -> str | None:
    """Why a version approving only these elements cannot be published, or None."""
    missing = sorted(REQUIRED_KEYS - set(approved_keys))
    if not missing:
        return None
    return (
        f"{', '.join(missing)} must stay approved: reports are kept one per installation per day."
    )


def policy_version_validate(version: PolicyVersion) -> None:
    approved = set(
        version.elements.filter(decision=PolicyElement.Decision.APPROVED).values_list(
            "key", flat=True
        )
    )
    for refusal in (
        policy_elements_unstorable_refusal(approved),
        policy_elements_missing_refusal(approved),
    ):
        if refusal:
            raise ValidationError(refusal)
    rejected = version.elements.filter(decision=PolicyElement.Decision.REJECTED)
    if rejected.filter(rejection_reason="").exists():
        raise ValidationError("Every rejected element needs its reason.")


def policy_version_publish(
    *, version: PolicyVersion, actor: User, approved_on: date | None = None
) -> PolicyVersion:
    """Make ``version`` the one the receiver enforces; the previous one is superseded."""
    with transaction.atomic():
        version = PolicyVersion.objects.select_for_update().get(pk=version.pk)
        if version.status != PolicyVersion.Status.DRAFT:
            raise ValidationError(
                f"v{version.number} is {version.status}; only a draft can be published."
            )
        policy_version_validate(version)
        previous = PolicyVersion.objects.filter(status=PolicyVersion.Status.PUBLISHED).first()
        if previous is not None:
            previous.status = PolicyVersion.Status.SUPERSEDED
            previous.save(update_fields=["status"])
        version.status = PolicyVersion.Status.PUBLISHED
        version.published_at = timezone.now()
        version.published_by = actor
        version.approved_on = approved_on or version.approved_on or timezone.now().date()
        version.save(update_fields=["status", "published_at", "published_by", "approved_on"])
        approved = version.elements.filter(decision=PolicyElement.Decision.APPROVED)
        audit_event_record(
            action="policy.published",
            actor=actor,
            target=version,
            before={"published_version": previous.number if previous else None},
            after={
                "published_version": version.number,
                "approved_elements": sorted(approved.values_list("key", flat=True)),
            },
        )
        transaction.on_commit(policy_cache_clear)
    return version
