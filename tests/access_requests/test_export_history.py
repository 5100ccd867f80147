"""The export history: GET /api/v1/exports and the grant's table on the member page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from access_requests import services
from access_requests.models import Export
from portal.models import AuditEvent
from tests.access_requests.helpers import PERIOD, grant_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def grant_and_secret(applicant, maintainer):
    grant = grant_for(applicant, maintainer)
    _, secret = services.token_mint(grant=grant, user=applicant, name="history")
    return grant, secret


def _exports(grant, count: int, **fields) -> list[Export]:
    """``count`` exports of the grant, the last one the newest; built ones are ready."""
    now = timezone.now()
    made = []
    for n in range(count):
        export = Export.objects.create(
            grant=grant,
            requested_by=grant.grantee,
            format=("csv", "jsonl", "parquet")[n % 3],
            period_start=PERIOD[0],
            period_end=PERIOD[1],
            **fields,
        )
        Export.objects.filter(pk=export.pk).update(created_at=now - timedelta(minutes=count - n))
        made.append(export)
    return made


def _ready(export: Export, n: int = 0) -> None:
    now = timezone.now()
    Export.objects.filter(pk=export.pk).update(
        state="ready",
        progress=100,
        rows=10 + n,
        size_bytes=2_000_000 + n,
        sha256=f"{n:064x}",
        file_name=f"grant/export-{export.pk}.csv.gz",
        finished_at=now,
        expires_at=now + timedelta(days=7),
    )


def _get(client, secret, path="/api/v1/exports", **params):
    return client.get(path, params, HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_the_history_lists_the_grants_exports_newest_first_twenty_a_page(client, grant_and_secret):
    grant, secret = grant_and_secret
    made = _exports(grant, 23)
    for n, export in enumerate(made[:5]):
        _ready(export, n)
    first = _get(client, secret)
    assert first.status_code == 200
    page = first.json()
    assert page["count"] == 23 and page["previous"] is None
    assert [item["id"] for item in page["results"]] == [e.pk for e in reversed(made)][:20]
    assert page["next"].endswith("/api/v1/exports?page=2")
    second = _get(client, secret, page=2).json()
    assert [item["id"] for item in second["results"]] == [e.pk for e in reversed(made)][20:]
    assert second["next"] is None and second["previous"].endswith("/api/v1/exports")
    assert _get(client, secret, page=3).status_code == 404


def test_each_item_is_the_exports_own_document_with_its_datasheet(client, grant_and_secret):
    grant, secret = grant_and_secret
    queued, built = _exports(grant, 2)
    _ready(built, 7)
    items = {item["id"]: item for item in _get(client, secret).json()["results"]}
    for export in (queued, built):
        assert items[export.pk] == _get(client, secret, f"/api/v1/exports/{export.pk}").json()
    assert items[built.pk]["datasheet_url"].endswith(f"/api/v1/exports/{built.pk}/datasheet")
    assert items[built.pk]["sha256"] == f"{7:064x}"
    assert "datasheet_url" not in items[queued.pk]


def test_the_history_is_the_tokens_grant_only_and_every_read_is_audited(
    client, grant_and_secret, other_applicant, maintainer
):
    grant, secret = grant_and_secret
    mine = _exports(grant, 2)
    theirs = grant_for(other_applicant, maintainer)
    _exports(theirs, 3)
    listed = _get(client, secret).json()
    assert {item["id"] for item in listed["results"]} == {e.pk for e in mine}
    read = AuditEvent.objects.get(action="data.read")
    assert read.details["endpoint"] == "/api/v1/exports"
    assert read.details["rows"] == 2 and read.details["grant"] == grant.pk
    assert _get(client, "tvt_not-a-token").status_code == 401


def test_asking_for_an_export_is_still_a_post(client, grant_and_secret):
    _, secret = grant_and_secret
    response = client.post(
        "/api/v1/exports",
        '{"format": "teapot"}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 400


def test_the_member_page_shows_the_full_history_with_datasheet_links(client, grant_and_secret):
    grant, _ = grant_and_secret
    failed, built = _exports(grant, 2)
    Export.objects.filter(pk=failed.pk).update(state="failed", error="disk full")
    _ready(built, 3)
    built.refresh_from_db()
    client.force_login(grant.grantee)
    text = client.get(f"/access/requests/{grant.request_id}/").content.decode()
    assert f"Exports of grant {grant.pk}" in text
    assert f"/access/exports/{built.pk}/download/" in text
    assert f"/access/exports/{built.pk}/datasheet/?as=md" in text
    assert f"/access/exports/{built.pk}/datasheet/?as=json" in text
    assert f"/access/exports/{failed.pk}/datasheet/" not in text
    assert "Failed: disk full" in text
    assert built.sha256 in text
    assert "1.9\xa0MB</td>" in text and "2000003" not in text  # the size is written for people
    assert built.finished_at.strftime("%Y-%m-%d %H:%M") in text
    assert "The 20 newest" not in text


def test_the_member_page_shows_the_twenty_newest_and_says_so(client, grant_and_secret):
    grant, _ = grant_and_secret
    made = _exports(grant, 22)
    client.force_login(grant.grantee)
    text = client.get(f"/access/requests/{grant.request_id}/").content.decode()
    assert "The 20 newest of 22 exports are shown" in text
    shown = [e.pk for e in made if f"<td>#{e.pk}</td>" in text]
    assert shown == [e.pk for e in made[2:]]
