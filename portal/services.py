from typing import Any

from django.contrib.auth.models import User
from django.db import models, transaction

from portal.models import AuditEvent

SYSTEM_ACTOR = "system"


def audit_event_record(
    *,
    action: str,
    actor: User | None = None,
    actor_label: str | None = None,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str = "",
    before: Any = None,
    after: Any = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record one audit row; must be called inside the transaction it describes."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_event_record must run inside the audited transaction")
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
    if actor_label is None:
        actor_label = actor.get_username() if actor is not None else SYSTEM_ACTOR
    return AuditEvent.objects.create(
        action=action,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=actor_label,
        target_type=target_type,
        target_id=target_id,
        before=before,
        after=after,
        details=details or {},
    )
