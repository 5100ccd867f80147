import json
from datetime import timedelta

import pytest
from django.utils import timezone

from ingest.models import DiscardedFieldCount, Report
from ingest.services import reports_purge_expired
from ingest.tasks import reports_purge_expired as purge_task
from portal.models import AuditEvent
from tests.ingest.helpers import post_report
from tests.support import pg_dump, published_policy_id

pytestmark = pytest.mark.django_db


def _old_report(platform_id: str, days_ago: int) -> Report:
    return Report.objects.create(
        platform_id=platform_id,
        report_date=timezone.now().date() - timedelta(days=days_ago),
        policy_version_id=published_policy_id(),
    )


def test_erasure_removes_every_report_of_the_installation(client, typical_payload):
    platform_id = typical_payload["platformID"]
    post_report(client, typical_payload)
    _old_report(platform_id, 3)
    _old_report("someone0else", 3)
    response = client.delete(f"/api/v1/installations/{platform_id}")
    assert response.status_code == 204
    assert not Report.objects.filter(platform_id=platform_id).exists()
    assert Report.objects.filter(platform_id="someone0else").exists()


def test_erasure_is_audited_without_the_id_in_clear(client, typical_payload):
    platform_id = typical_payload["platformID"]
    post_report(client, typical_payload)
    client.delete(f"/api/v1/installations/{platform_id}")
    event = AuditEvent.objects.get(action="installation.erased")
    assert event.before == {"reports": 1}
    everything = json.dumps(list(AuditEvent.objects.values()), default=str)
    assert platform_id not in everything
    assert event.target_id  # a keyed digest links repeated erasures


def test_erasing_an_unknown_installation_gets_404(client):
    response = client.delete("/api/v1/installations/nobody00here")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert not AuditEvent.objects.exists()


def test_erasing_with_a_malformed_id_gets_400(client):
    response = client.delete("/api/v1/installations/" + "x" * 65)
    assert response.status_code == 400
    assert response.json()["field"] == "platformID"


def test_erasure_leaves_no_trace_in_a_database_dump(
    client, typical_payload, postgres, transactional_db
):
    platform_id = typical_payload["platformID"]
    post_report(client, typical_payload)
    assert platform_id in pg_dump()
    assert client.delete(f"/api/v1/installations/{platform_id}").status_code == 204
    assert platform_id not in pg_dump()


def test_retention_deletes_reports_older_than_the_period(settings):
    settings.REPORT_RETENTION_DAYS = 30
    _old_report("fresh", 29)
    _old_report("edge", 30)
    _old_report("expired", 31)
    DiscardedFieldCount.objects.create(
        report_date=timezone.now().date() - timedelta(days=40), field_name="x", count=1
    )
    purge_task.apply()
    assert set(Report.objects.values_list("platform_id", flat=True)) == {"fresh", "edge"}
    assert not DiscardedFieldCount.objects.exists()
    event = AuditEvent.objects.get(action="reports.retention_purged")
    assert event.details["reports"] == 1


def test_retention_with_nothing_to_delete_writes_no_audit_row():
    _old_report("fresh", 1)
    assert reports_purge_expired() == 0
    assert not AuditEvent.objects.exists()


def test_the_purge_is_scheduled_daily(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["ingest-purge-expired-reports"]
    assert schedule["task"] == "ingest.tasks.reports_purge_expired"
    assert schedule["schedule"] == 24 * 60 * 60
