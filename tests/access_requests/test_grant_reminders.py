"""Grantees are reminded 14 and 3 days before their grant ends, once each."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from access_requests import services, tasks
from access_requests.models import Export, Grant, GrantReminder, RequestEvent
from access_requests.services import exports as export_services
from access_requests.services.reminders import grant_reminders_send
from portal.models import AuditEvent
from tests.access_requests.helpers import PERIOD, grant_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def grant(applicant, maintainer) -> Grant:
    """A grant made 60 days ago that ends in 30 days."""
    made = grant_for(applicant, maintainer)
    now = timezone.now()
    Grant.objects.filter(pk=made.pk).update(
        created_at=now - timedelta(days=60), expires_at=now + timedelta(days=30)
    )
    made.refresh_from_db()
    return made


def _run(capture, now):
    mail.outbox.clear()
    with capture(execute=True):
        return grant_reminders_send(now=now)


def _before_end(grant: Grant, days: float):
    return grant.expires_at - timedelta(days=days)


def test_it_emails_14_and_3_days_before_the_end_once_each(
    grant, django_capture_on_commit_callbacks
):
    assert _run(django_capture_on_commit_callbacks, _before_end(grant, 14.5)) == []
    at_14 = _before_end(grant, 14) + timedelta(minutes=30)
    assert _run(django_capture_on_commit_callbacks, at_14) == [(grant.pk, 14)]
    assert [m.to for m in mail.outbox] == [[grant.grantee.email]]
    assert "ends in 14 days" in mail.outbox[0].subject
    assert _run(django_capture_on_commit_callbacks, at_14 + timedelta(hours=1)) == []
    assert mail.outbox == []
    at_3 = _before_end(grant, 3) + timedelta(minutes=5)
    assert _run(django_capture_on_commit_callbacks, at_3) == [(grant.pk, 3)]
    assert "ends in 3 days" in mail.outbox[0].subject
    assert _run(django_capture_on_commit_callbacks, at_3 + timedelta(days=1)) == []
    assert _run(django_capture_on_commit_callbacks, grant.expires_at) == []

    assert sorted(grant.reminders.values_list("days_before", flat=True)) == [3, 14]
    events = RequestEvent.objects.filter(request=grant.request, kind=RequestEvent.Kind.REMINDED)
    assert events.count() == 2
    audited = AuditEvent.objects.filter(action="grant.reminded", target_id=str(grant.pk))
    assert sorted(a.details["days_before"] for a in audited) == [3, 14]


def test_the_email_says_when_access_ends_what_ends_with_it_and_where_to_renew(
    grant, django_capture_on_commit_callbacks, settings
):
    services.token_mint(grant=grant, user=grant.grantee, name="notebook")
    _run(django_capture_on_commit_callbacks, _before_end(grant, 13.9))
    body = mail.outbox[0].body
    assert f"ends on {grant.expires_at:%Y-%m-%d %H:%M} UTC" in body
    assert "read tokens stop working (1 active now)" in body
    assert "exports' files are deleted" in body
    assert f"{settings.PUBLIC_BASE_URL}/access/grants/{grant.pk}/renew/" in body
    assert f"{settings.PUBLIC_BASE_URL}/access/requests/{grant.request_id}/" in body
    assert "&#x27;" not in body  # plain text, not escaped for HTML


def test_a_grant_made_with_less_than_14_days_left_gets_only_the_reminders_ahead(
    applicant, maintainer, django_capture_on_commit_callbacks
):
    short = grant_for(applicant, maintainer, duration_days=10)
    assert short.expires_at - short.created_at < timedelta(days=14)
    assert _run(django_capture_on_commit_callbacks, short.created_at + timedelta(hours=1)) == []
    at_3 = _before_end(short, 3) + timedelta(minutes=1)
    assert _run(django_capture_on_commit_callbacks, at_3) == [(short.pk, 3)]
    assert list(short.reminders.values_list("days_before", flat=True)) == [3]


def test_a_late_run_sends_the_reminder_of_the_time_left_not_an_older_one(
    grant, django_capture_on_commit_callbacks
):
    two_days_left = _before_end(grant, 2)
    assert _run(django_capture_on_commit_callbacks, two_days_left) == [(grant.pk, 3)]
    assert "ends in 3 days" in mail.outbox[0].subject
    assert not grant.reminders.filter(days_before=14).exists()


def test_revoked_grants_are_not_reminded(grant, maintainer, django_capture_on_commit_callbacks):
    services.grant_revoke(grant=grant, actor=maintainer, reason="The study is over.")
    assert _run(django_capture_on_commit_callbacks, _before_end(grant, 13)) == []
    assert mail.outbox == [] and not GrantReminder.objects.exists()


def test_the_hourly_beat_task_sends_what_is_due_now(
    grant, settings, django_capture_on_commit_callbacks
):
    entry = settings.CELERY_BEAT_SCHEDULE["access-grant-reminders"]
    assert entry == {"task": "access_requests.tasks.grant_reminders_send", "schedule": 3600}
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() + timedelta(days=13))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.grant_reminders_send() == [(grant.pk, 14)]
        assert tasks.grant_reminders_send() == []
    assert len(mail.outbox) == 1


def test_tokens_and_exports_still_end_with_the_grant(
    client, grant, export_media, django_capture_on_commit_callbacks
):
    _, secret = services.token_mint(grant=grant, user=grant.grantee, name="notebook")
    export = Export.objects.create(
        grant=grant,
        requested_by=grant.grantee,
        format="csv",
        period_start=PERIOD[0],
        period_end=PERIOD[1],
        state="ready",
        rows=1,
        sha256="0" * 64,
        file_name="grant/export.csv.gz",
        finished_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=7),
    )
    _run(django_capture_on_commit_callbacks, _before_end(grant, 3))
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    assert client.get("/api/v1/data/reports", **bearer).status_code == 200

    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    refused = client.get("/api/v1/data/reports", **bearer)
    assert (refused.status_code, refused.json()["error"]) == (401, "grant_expired")
    with django_capture_on_commit_callbacks(execute=True):
        assert export_services.exports_expire_due() == 1
    export.refresh_from_db()
    assert export.state == "expired" and export.file_name == ""


@pytest.mark.django_db(transaction=True)
def test_two_runs_racing_on_postgresql_send_each_reminder_once(postgres, applicant, maintainer):
    made = grant_for(applicant, maintainer)
    now = timezone.now()
    Grant.objects.filter(pk=made.pk).update(
        created_at=now - timedelta(days=60), expires_at=now + timedelta(days=13)
    )
    mail.outbox.clear()
    start = threading.Barrier(2)
    sent: list = []
    errors: list = []

    def run():
        try:
            start.wait()
            sent.extend(grant_reminders_send())
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sent == [(made.pk, 14)]
    assert GrantReminder.objects.filter(grant=made).count() == 1
    assert RequestEvent.objects.filter(kind=RequestEvent.Kind.REMINDED).count() == 1
    assert AuditEvent.objects.filter(action="grant.reminded").count() == 1
    assert len(mail.outbox) == 1
