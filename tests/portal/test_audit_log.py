"""The audit log (portal.models.AuditEvent): written only inside a transaction, never edited."""

import pytest
from django.db import transaction

from portal.models import AuditEvent
from portal.services import audit_event_record


@pytest.mark.django_db
def test_the_audit_log_cannot_be_edited_or_deleted_in_the_admin(client, superuser):
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
    with pytest.raises(RuntimeError, match="inside the audited transaction"):
        audit_event_record(action="test.happened", actor=superuser)
