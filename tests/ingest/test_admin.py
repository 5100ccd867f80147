import pytest

from portal.models import AuditEvent
from tests.ingest.helpers import post_report

pytestmark = pytest.mark.django_db


def test_maintainers_see_client_drift_summed_over_shards(client, superuser, typical_payload):
    for index in range(12):
        payload = dict(typical_payload, platformID=f"drift{index}", shinyNewField=True)
        assert post_report(client, payload).status_code == 202
    client.force_login(superuser)
    page = client.get("/admin/ingest/discardedfieldcount/").content.decode()
    assert "<code>shinyNewField</code></td><td>12</td>" in page
    assert "<code>browserInfo.language</code></td><td>12</td>" in page
    assert "True" not in page  # the value sent is never shown, only the name


def test_the_audit_log_cannot_be_edited_or_deleted_in_the_admin(client, superuser):
    from django.db import transaction

    from portal.services import audit_event_record

    with transaction.atomic():
        event = audit_event_record(action="test.happened", actor=superuser)
    client.force_login(superuser)
    assert client.get("/admin/portal/auditevent/").status_code == 200
    assert client.get(f"/admin/portal/auditevent/{event.pk}/change/").status_code == 200
    client.post(f"/admin/portal/auditevent/{event.pk}/change/", {"action": "rewritten"})
    assert (
        client.post(f"/admin/portal/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    event.refresh_from_db()
    assert event.action == "test.happened"
    assert AuditEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_audit_row_outside_a_transaction_is_refused(superuser):
    from portal.services import audit_event_record

    with pytest.raises(RuntimeError, match="inside the audited transaction"):
        audit_event_record(action="test.happened", actor=superuser)
