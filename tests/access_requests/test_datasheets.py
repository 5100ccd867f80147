"""Datasheets: every built export describes itself, beside the file and, for Parquet, in it."""

import hashlib
import io
import json
from datetime import date, timedelta

import pyarrow.parquet as pq
import pytest
from django.utils import timezone

from access_requests import datasheets, services
from access_requests.models import Export, Grant
from access_requests.services import exports as export_services
from portal.models import AuditEvent
from tests.access_requests.helpers import PERIOD, export_file_rows, grant_for

# Builds read through a connection of their own: test data must be committed.
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
GRANTED = ["platformID", "requestTime", "version", "clusterCount", "enableAddonList"]


@pytest.fixture(autouse=True)
def _media(export_media):
    return export_media


def _api(client, secret, path, **params):
    return client.get(path, params, HTTP_AUTHORIZATION=f"Bearer {secret}")


def _built(client, secret, django_capture_on_commit_callbacks, **body) -> Export:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/exports",
            json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {secret}",
        )
    assert response.status_code == 202, response.content
    export = Export.objects.get(pk=response.json()["id"])
    assert export.state == "ready", export.error
    return export


def _file(client, secret, export) -> bytes:
    response = _api(client, secret, f"/api/v1/exports/{export.pk}/download")
    assert response.status_code == 200
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("file_format", ["csv", "jsonl", "parquet"])
def test_the_datasheet_matches_the_file(
    client, export_reports, granted, file_format, celery_eager, django_capture_on_commit_callbacks
):
    grant, secret = granted
    period = {"from": "2026-02-03", "to": "2026-02-20"}
    export = _built(
        client, secret, django_capture_on_commit_callbacks, format=file_format, **period
    )
    blob = _file(client, secret, export)
    rows = export_file_rows(file_format, blob)

    response = _api(client, secret, f"/api/v1/exports/{export.pk}/datasheet")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    sheet = response.json()
    assert sheet["sha256"] == hashlib.sha256(blob).hexdigest()
    assert sheet["size_bytes"] == len(blob)
    assert sheet["rows"] == len(rows) == 18 * 4
    assert sheet["period"] == period
    assert {str(row["date"]) for row in rows} == {
        (date(2026, 2, 3) + timedelta(days=n)).isoformat() for n in range(18)
    }
    assert sorted(e["key"] for e in sheet["elements"]) == sorted(grant.elements)
    assert sheet["fields"] == list(rows[0])
    assert [f["name"] for e in sheet["elements"] for f in e["fields"]] == list(rows[0])
    assert sheet["file_name"].endswith(
        {"csv": ".csv.gz", "jsonl": ".jsonl.gz"}.get(file_format, ".parquet")
    )
    assert sheet["terms_version"] == grant.request.terms.version
    assert sheet["policy_version"]["number"] == grant.request.policy_version.number


def test_a_datasheet_says_where_it_comes_from_and_how_to_cite_it(
    client, export_reports, granted, celery_eager, django_capture_on_commit_callbacks
):
    grant, secret = granted
    export = _built(client, secret, django_capture_on_commit_callbacks, format="csv")
    sheet = _api(client, secret, f"/api/v1/exports/{export.pk}/datasheet").json()
    assert sheet["data_dictionary_url"].endswith("/dictionary/")
    for element in sheet["elements"]:
        assert element["dictionary_url"].endswith(f"/dictionary/#element-{element['key']}")
    assert f"grant #{grant.pk}" in sheet["pseudonym_scope"]
    assert "never link across grants" in sheet["pseudonym_scope"]
    biases = " ".join(sheet["known_biases"])
    for fact in ("on by default", "Air-gapped", "per browser", "CLI"):
        assert fact in biases, fact
    citation = sheet["citation"]
    assert citation["publisher"] == "KubeVela community telemetry portal"
    assert citation["export"] == export.pk
    assert citation["year"] == export.started_at.year
    assert citation["url"].endswith(f"/access/exports/{export.pk}/datasheet/")
    assert citation["accessed"] == export.started_at.date().isoformat()
    assert "embedded" in sheet and "beside" in sheet["embedded"]


def test_parquet_carries_its_datasheet_without_its_own_checksum(
    client, export_reports, granted, celery_eager, django_capture_on_commit_callbacks
):
    _, secret = granted
    export = _built(client, secret, django_capture_on_commit_callbacks, format="parquet")
    blob = _file(client, secret, export)
    metadata = pq.read_metadata(io.BytesIO(blob)).metadata
    inside = json.loads(metadata[b"datasheet"])
    beside = _api(client, secret, f"/api/v1/exports/{export.pk}/datasheet").json()
    assert inside["rows"] == pq.read_table(io.BytesIO(blob)).num_rows == beside["rows"]
    assert all(inside[key] is None for key in datasheets.AFTER_THE_FILE)
    assert "cannot hold its own checksum" in inside.pop("note")
    assert inside == beside | {key: None for key in datasheets.AFTER_THE_FILE}


def test_the_member_page_gives_the_datasheet_in_markdown_and_both_reads_are_audited(
    client, export_reports, granted, celery_eager, django_capture_on_commit_callbacks
):
    grant, secret = granted
    export = _built(client, secret, django_capture_on_commit_callbacks, format="jsonl")
    _api(client, secret, f"/api/v1/exports/{export.pk}/datasheet", **{"as": "md"})
    client.force_login(grant.grantee)
    page = client.get(f"/access/exports/{export.pk}/datasheet/?as=md")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/markdown")
    assert "attachment" in page["Content-Disposition"]
    text = page.content.decode()
    assert f"`{export.sha256}`" in text
    assert f"| Rows | {export.rows} |" in text
    assert "/dictionary/#element-enableAddonList" in text
    assert "KubeVela community telemetry portal. (" in text
    as_json = client.get(f"/access/exports/{export.pk}/datasheet/")
    assert json.loads(as_json.content)["sha256"] == export.sha256
    reads = AuditEvent.objects.filter(action="data.export_datasheet_read").order_by("id")
    assert [(r.details["via"], r.details["as"]) for r in reads] == [
        ("api", "md"),
        ("page", "md"),
        ("page", "json"),
    ]
    assert {r.target_id for r in reads} == {str(export.pk)}


def test_the_datasheet_is_refused_like_the_file_once_the_grant_ends(
    client,
    export_reports,
    granted,
    maintainer,
    celery_eager,
    django_capture_on_commit_callbacks,
):
    grant, secret = granted
    export = _built(client, secret, django_capture_on_commit_callbacks, format="csv")
    client.force_login(grant.grantee)
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    for path in (
        f"/access/exports/{export.pk}/datasheet/",
        f"/access/exports/{export.pk}/download/",
    ):
        response = client.get(path)
        back = f"/access/requests/{grant.request_id}/"
        assert (response.status_code, response["Location"]) == (302, back), path
    assert _api(client, secret, f"/api/v1/exports/{export.pk}/datasheet").status_code == 401

    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() + timedelta(days=9))
    assert client.get(f"/access/exports/{export.pk}/datasheet/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        services.grant_revoke(grant=grant, actor=maintainer, reason="Ended early.")
    reads = AuditEvent.objects.filter(action="data.export_datasheet_read")
    assert reads.count() == 1  # the one served while the grant was active again
    response = client.get(f"/access/exports/{export.pk}/datasheet/")
    back = f"/access/requests/{grant.request_id}/"
    assert (response.status_code, response["Location"]) == (302, back)
    refused = _api(client, secret, f"/api/v1/exports/{export.pk}/datasheet")
    assert (refused.status_code, refused.json()["error"]) == (401, "grant_revoked")
    assert reads.count() == 1


def test_an_export_not_built_has_no_datasheet_and_anothers_is_not_found(
    client, export_reports, granted, other_applicant, maintainer, manual_builds
):
    grant, secret = granted
    export = export_services.export_request(
        grant=grant, user=grant.grantee, file_format="csv", first=PERIOD[0], last=PERIOD[1]
    )
    response = _api(client, secret, f"/api/v1/exports/{export.pk}/datasheet")
    assert (response.status_code, response.json()["error"]) == (409, "export_not_ready")
    assert (
        _api(client, secret, f"/api/v1/exports/{export.pk}/datasheet", **{"as": "pdf"}).status_code
        == 400
    )
    document = _api(client, secret, f"/api/v1/exports/{export.pk}").json()
    assert "datasheet_url" not in document

    theirs = grant_for(other_applicant, maintainer)
    _, their_secret = services.token_mint(grant=theirs, user=other_applicant, name="bob")
    assert _api(client, their_secret, f"/api/v1/exports/{export.pk}/datasheet").status_code == 404
    client.force_login(other_applicant)
    assert client.get(f"/access/exports/{export.pk}/datasheet/").status_code == 404
    assert not AuditEvent.objects.filter(action="data.export_datasheet_read").exists()
