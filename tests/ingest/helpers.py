import json

from django.test import Client

from ingest.models import DiscardedFieldCount, Report
from portal.models import AuditEvent


def post_report(client: Client, payload, path: str = "/collecting", **extra):
    body = payload if isinstance(payload, (str, bytes)) else json.dumps(payload)
    extra.setdefault("content_type", "application/json")
    return client.post(path, body, **extra)


def database_state() -> tuple:
    """Everything a report could change, to prove a refused one changed nothing."""
    return (
        list(Report.objects.order_by("id").values()),
        list(DiscardedFieldCount.objects.order_by("id").values()),
        AuditEvent.objects.count(),
    )
