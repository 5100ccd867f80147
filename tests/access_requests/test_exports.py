"""Exports, built in-process: contents equal the data API, files appear only complete."""

import csv
import gzip
import hashlib
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.files.storage import storages
from django.utils import timezone

from access_requests import export_files, services
from access_requests.models import Export
from access_requests.services import exports as export_services
from portal.models import AuditEvent
from tests.access_requests.helpers import (
    PERIOD,
    data_api_rows,
    export_file_rows,
    export_row_as_api_row,
    grant_for,
)

# Builds read through a connection of their own (as in production), so test data must
# be committed: these tests run outside a wrapping transaction.
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _media(export_media):
    return export_media


def _request(client, secret, **body):
    return client.post(
        "/api/v1/exports",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )


def _build(client, secret, celery_eager, django_capture_on_commit_callbacks, **body):
    with django_capture_on_commit_callbacks(execute=True):
        response = _request(client, secret, **body)
    assert response.status_code == 202, response.content
    return Export.objects.get(pk=response.json()["id"])


def _download(client, secret, export) -> bytes:
    response = client.get(
        f"/api/v1/exports/{export.pk}/download", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert response.status_code == 200
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("file_format", ["csv", "jsonl", "parquet"])
def test_an_export_holds_exactly_what_the_api_returns(
    client, export_reports, granted, file_format, celery_eager, django_capture_on_commit_callbacks
):
    _, secret = granted
    export = _build(
        client,
        secret,
        celery_eager,
        django_capture_on_commit_callbacks,
        format=file_format,
        **{"from": "2026-02-03", "to": "2026-02-20"},
    )
    export.refresh_from_db()
    assert export.state == "ready" and export.progress == 100
    blob = _download(client, secret, export)
    assert hashlib.sha256(blob).hexdigest() == export.sha256
    assert len(blob) == export.size_bytes
    api = data_api_rows(client, secret, **{"from": "2026-02-03", "to": "2026-02-20"})
    exported = [
        export_row_as_api_row(file_format, row) for row in export_file_rows(file_format, blob)
    ]
    assert export.rows == len(api) == len(exported) == 18 * 4
    assert exported == [export_row_as_api_row("jsonl", row) for row in api]
    raw_ids = {f"install{n}" for n in range(4)}
    assert not raw_ids & {v for row in exported for v in row.values() if isinstance(v, str)}
    assert not any(f'"{raw}"' in blob.decode("latin-1") for raw in raw_ids)


def test_csv_cells_that_look_like_formulas_are_neutralised(
    client, export_reports, granted, celery_eager, django_capture_on_commit_callbacks
):
    _, secret = granted
    export = _build(client, secret, celery_eager, django_capture_on_commit_callbacks, format="csv")
    text = gzip.decompress(_download(client, secret, export)).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    releases = {row["release"] for row in rows}
    assert releases == {"v1.9.4", "'-2+3"}


def test_exports_never_leave_the_grant(client, export_reports, granted):
    _, secret = granted
    for body, status in (
        ({"format": "csv", "from": "2026-01-31"}, 403),
        ({"format": "csv", "to": "2026-03-01"}, 403),
        ({"format": "xlsx"}, 400),
        ({"format": "csv", "from": "soon"}, 400),
    ):
        response = _request(client, secret, **body)
        assert response.status_code == status, body
    assert not Export.objects.exists()


def test_an_export_of_another_grant_is_not_found(
    client, export_reports, granted, other_applicant, maintainer, manual_builds
):
    grant, _ = granted
    theirs = grant_for(other_applicant, maintainer)
    _, their_secret = services.token_mint(grant=theirs, user=other_applicant, name="bob")
    export = export_services.export_request(
        grant=grant, user=grant.grantee, file_format="csv", first=PERIOD[0], last=PERIOD[1]
    )
    for path in (f"/api/v1/exports/{export.pk}", f"/api/v1/exports/{export.pk}/download"):
        response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {their_secret}")
        assert response.status_code == 404
    client.force_login(other_applicant)
    assert client.get(f"/access/exports/{export.pk}/download/").status_code == 404


def test_a_queued_export_is_not_downloadable(client, export_reports, granted, manual_builds):
    grant, secret = granted
    export = export_services.export_request(
        grant=grant, user=grant.grantee, file_format="csv", first=PERIOD[0], last=PERIOD[1]
    )
    response = client.get(
        f"/api/v1/exports/{export.pk}/download", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert response.status_code == 409
    assert response.json()["error"] == "export_not_ready"
    state = client.get(f"/api/v1/exports/{export.pk}", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert state.json()["state"] == "queued" and "download_url" not in state.json()


def test_without_dates_an_export_covers_the_grants_period(export_reports, granted, manual_builds):
    grant, _ = granted
    export = export_services.export_request(grant=grant, user=grant.grantee, file_format="csv")
    assert (export.period_start, export.period_end) == (grant.period_start, grant.period_end)
    only_first = export_services.export_request(
        grant=grant, user=grant.grantee, file_format="jsonl", first=PERIOD[0]
    )
    assert (only_first.period_start, only_first.period_end) == (PERIOD[0], grant.period_end)


def test_downloads_are_audited_and_emails_sent(
    client, export_reports, granted, celery_eager, django_capture_on_commit_callbacks
):
    grant, secret = granted
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        export = _build(
            client, secret, celery_eager, django_capture_on_commit_callbacks, format="jsonl"
        )
    assert any("is ready" in m.subject for m in mail.outbox)
    _download(client, secret, export)
    client.force_login(grant.grantee)
    page = client.get(f"/access/exports/{export.pk}/download/")
    assert page.status_code == 200
    downloads = AuditEvent.objects.filter(action="data.export_downloaded").order_by("id")
    assert [d.details["via"] for d in downloads] == ["api", "page"]
    assert downloads[0].details["sha256"] == export.sha256


def test_a_failed_build_says_why(
    client, export_reports, granted, monkeypatch, celery_eager, django_capture_on_commit_callbacks
):
    _, secret = granted

    def broken(export, out, progress):
        raise OSError("disk full")

    monkeypatch.setitem(export_files.WRITERS, "csv", broken)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        export = _build(
            client, secret, celery_eager, django_capture_on_commit_callbacks, format="csv"
        )
    export.refresh_from_db()
    assert (export.state, export.error) == ("failed", "disk full")
    assert any("failed" in m.subject for m in mail.outbox)
    assert not list((Path(export_services._partial_dir())).iterdir())


def test_building_is_idempotent(export_reports, granted, tmp_path, manual_builds):
    grant, _ = granted
    export = export_services.export_request(
        grant=grant, user=grant.grantee, file_format="parquet", first=PERIOD[0], last=PERIOD[1]
    )
    first = export_services.export_build(export_id=export.pk)
    again = export_services.export_build(export_id=export.pk)
    assert first.state == "ready" and again is None
    export.refresh_from_db()
    assert export.attempts == 1
    files = list((tmp_path / "exports").rglob("*.parquet"))
    assert len(files) == 1


def test_a_stale_running_export_is_taken_over(export_reports, granted, settings, manual_builds):
    grant, _ = granted
    export = export_services.export_request(
        grant=grant, user=grant.grantee, file_format="csv", first=PERIOD[0], last=PERIOD[1]
    )
    Export.objects.filter(pk=export.pk).update(
        state="running", attempts=1, heartbeat_at=timezone.now() - timedelta(minutes=10)
    )
    built = export_services.export_build(export_id=export.pk)
    assert built.state == "ready" and built.attempts == 2


def test_a_fresh_running_export_is_left_to_its_worker(export_reports, granted, manual_builds):
    grant, _ = granted
    export = export_services.export_request(
        grant=grant, user=grant.grantee, file_format="csv", first=PERIOD[0], last=PERIOD[1]
    )
    Export.objects.filter(pk=export.pk).update(
        state="running", attempts=1, heartbeat_at=timezone.now()
    )
    assert export_services.export_build(export_id=export.pk) is None


def test_with_the_broker_down_the_request_is_kept_and_the_sweeper_enqueues_it(
    client, export_reports, granted, monkeypatch, settings, django_capture_on_commit_callbacks
):
    from access_requests import tasks

    _, secret = granted

    def broker_down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(tasks.export_build, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = _request(client, secret, format="csv")
    assert response.status_code == 202
    export = Export.objects.get()
    assert export.state == "queued"

    sent = []
    monkeypatch.setattr(tasks.export_build, "delay", lambda export_id: sent.append(export_id))
    settings.EXPORT_QUEUED_GRACE_SECONDS = 0
    assert export_services.exports_sweep() == [export.pk]
    assert sent == [export.pk]


def test_expired_files_are_deleted(export_reports, granted, tmp_path, manual_builds):
    grant, _ = granted
    export = export_services.export_request(
        grant=grant, user=grant.grantee, file_format="csv", first=PERIOD[0], last=PERIOD[1]
    )
    export_services.export_build(export_id=export.pk)
    export.refresh_from_db()
    built = export.file_name
    assert built and storages["exports"].exists(built)
    Export.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    from django.db import transaction

    with transaction.atomic():  # the file is deleted once this commits
        assert export_services.exports_expire_due() == 1
    export.refresh_from_db()
    assert export.state == "expired" and export.file_name == ""
    assert not storages["exports"].exists(built)
    assert not list((tmp_path / "exports").rglob("*.csv.gz"))


def test_files_of_a_grant_that_has_ended_are_deleted(
    export_reports, granted, tmp_path, manual_builds, django_capture_on_commit_callbacks
):
    grant, _ = granted
    export = export_services.export_request(
        grant=grant, user=grant.grantee, file_format="csv", first=PERIOD[0], last=PERIOD[1]
    )
    export_services.export_build(export_id=export.pk)
    assert export_services.exports_expire_due() == 0  # grant and file both still current
    type(grant).objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert export_services.exports_expire_due() == 1
    export.refresh_from_db()
    assert export.state == "expired" and export.file_name == ""
    assert not list((tmp_path / "exports").rglob("*.csv.gz"))
    reasons = AuditEvent.objects.filter(action="export.expired").values_list("details", flat=True)
    assert [d["reason"] for d in reasons] == ["grant ended"]


def test_revoking_the_grant_deletes_its_exports(
    export_reports, granted, maintainer, tmp_path, django_capture_on_commit_callbacks, manual_builds
):
    grant, _ = granted
    export = export_services.export_request(
        grant=grant, user=grant.grantee, file_format="csv", first=PERIOD[0], last=PERIOD[1]
    )
    export_services.export_build(export_id=export.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.grant_revoke(grant=grant, actor=maintainer, reason="Ended.")
    export.refresh_from_db()
    assert export.state == "expired"
    assert not list((tmp_path / "exports").rglob("*.gz"))


def test_the_sweeper_and_the_expiry_are_scheduled(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["exports-sweep"]["task"] == "access_requests.tasks.exports_sweep"
    assert schedule["exports-expire"]["task"] == "access_requests.tasks.exports_expire_due"


def test_the_export_task_acknowledges_late():
    from access_requests.tasks import export_build

    assert export_build.acks_late and export_build.reject_on_worker_lost


@pytest.mark.parametrize("file_format", ["csv", "jsonl", "parquet"])
def test_an_export_without_the_key_elements_still_dates_and_names_each_row(
    client,
    export_reports,
    applicant,
    maintainer,
    file_format,
    celery_eager,
    django_capture_on_commit_callbacks,
):
    # Defect 3: rows of a grant without requestTime and platformID had no date and no
    # installation pseudonym. Every format carries both, equal to the data API's.
    grant = grant_for(applicant, maintainer, elements=("clusterCount",))
    assert not {"platformID", "requestTime"} & set(grant.elements)
    _, secret = services.token_mint(grant=grant, user=applicant, name="buckets only")
    export = _build(
        client, secret, celery_eager, django_capture_on_commit_callbacks, format=file_format
    )
    blob = _download(client, secret, export)
    rows = export_file_rows(file_format, blob)
    assert len(rows) == export.rows == 28 * 4
    assert list(rows[0]) == ["installation", "date", "cluster_count_bucket"]
    exported = [export_row_as_api_row(file_format, row) for row in rows]
    assert {row["date"] for row in exported} == {
        (PERIOD[0] + timedelta(days=n)).isoformat() for n in range(28)
    }
    assert len({row["installation"] for row in exported}) == 4
    assert exported == data_api_rows(client, secret)
