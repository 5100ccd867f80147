"""An export expires at its expires_at, on both download paths, whatever the hourly task did."""

import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.storage import storages
from django.utils import timezone

from access_requests.models import Export
from access_requests.services import exports as export_services
from portal.models import AuditEvent
from tests.access_requests.helpers import PERIOD

# Builds read through a connection of their own: the test data must be committed.
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _media(export_media):
    return export_media


@pytest.fixture
def lapsed(export_reports, granted, manual_builds, export_media):
    """A built, ready export whose expires_at passed a second ago; beat has not run."""
    grant, secret = granted
    export = export_services.export_request(
        grant=grant, user=grant.grantee, file_format="csv", first=PERIOD[0], last=PERIOD[1]
    )
    export_services.export_build(export_id=export.pk)
    Export.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    export.refresh_from_db()
    assert export.state == Export.State.READY and export.file_name
    assert list((export_media / "exports").rglob("*.csv.gz"))
    return export, secret


def _api(client, secret, path):
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {secret}")


def _expired_rows(export):
    return list(
        AuditEvent.objects.filter(action="export.expired", target_id=str(export.pk)).values_list(
            "details", flat=True
        )
    )


def _downloads():
    return AuditEvent.objects.filter(action="data.export_downloaded").count()


def test_the_api_refuses_an_export_past_its_expiry_with_410(client, lapsed, export_media):
    export, secret = lapsed
    response = _api(client, secret, f"/api/v1/exports/{export.pk}/download")
    assert response.status_code == 410
    assert response.json() == {
        "error": "export_expired",
        "message": f"Export #{export.pk} expired on {export.expires_at:%Y-%m-%d %H:%M} UTC "
        "and its file is deleted; ask for a new export.",
    }
    export.refresh_from_db()
    assert (export.state, export.file_name) == (Export.State.EXPIRED, "")
    assert not list((export_media / "exports").rglob("*.csv.gz"))
    assert _expired_rows(export) == [{"reason": "time to live passed", "refused_download": "api"}]
    assert _downloads() == 0
    # Asked again, the same refusal, and no second audit row of the expiry.
    again = _api(client, secret, f"/api/v1/exports/{export.pk}/download")
    assert again.status_code == 410 and again.json()["error"] == "export_expired"
    assert len(_expired_rows(export)) == 1
    assert export_services.exports_expire_due() == 0  # nothing left for the hourly task


def test_the_page_refuses_an_export_past_its_expiry(client, lapsed, export_media):
    export, _ = lapsed
    client.force_login(export.requested_by)
    home = client.get(f"/access/requests/{export.grant.request_id}/").content.decode()
    assert f"/access/exports/{export.pk}/download/" not in home
    assert f"Expired on {export.expires_at:%Y-%m-%d %H:%M} UTC" in home
    response = client.get(f"/access/exports/{export.pk}/download/")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/access/requests/{export.grant.request_id}/"
    assert [str(m) for m in response.wsgi_request._messages] == [
        f"Export #{export.pk} expired on {export.expires_at:%Y-%m-%d %H:%M} UTC and its file "
        "is deleted; ask for a new export."
    ]
    export.refresh_from_db()
    assert export.state == Export.State.EXPIRED
    assert not list((export_media / "exports").rglob("*.csv.gz"))
    assert _expired_rows(export) == [{"reason": "time to live passed", "refused_download": "page"}]
    assert _downloads() == 0


def test_the_export_document_says_expired_and_offers_no_download(client, lapsed):
    export, secret = lapsed
    document = _api(client, secret, f"/api/v1/exports/{export.pk}").json()
    assert document["state"] == "expired" and "download_url" not in document


def test_an_expired_export_is_refused_with_410_after_the_hourly_task(client, lapsed):
    export, secret = lapsed
    assert export_services.exports_expire_due() == 1
    response = _api(client, secret, f"/api/v1/exports/{export.pk}/download")
    assert response.status_code == 410 and response.json()["error"] == "export_expired"


def test_a_request_identical_to_an_expired_export_makes_a_new_one(lapsed):
    export, _ = lapsed
    again, created = export_services.export_request_or_reuse(
        grant=export.grant,
        user=export.requested_by,
        file_format="csv",
        first=PERIOD[0],
        last=PERIOD[1],
    )
    assert created and again.pk != export.pk


def test_until_its_expiry_the_export_downloads(client, lapsed):
    export, secret = lapsed
    Export.objects.filter(pk=export.pk).update(expires_at=timezone.now() + timedelta(minutes=1))
    response = _api(client, secret, f"/api/v1/exports/{export.pk}/download")
    assert response.status_code == 200
    b"".join(response.streaming_content)
    assert _downloads() == 1


def test_a_signed_bucket_url_ends_with_the_export(client, granted, settings):
    """With exports in an S3 bucket the download is a redirect to a signed URL: it must not
    outlive the export by the storage's default hour. Signing is local, no bucket is called."""
    grant, secret = granted
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "exports",
                "region_name": "us-east-1",
                "access_key": "AKIAEXAMPLE",
                "secret_key": "example-secret",
                "querystring_auth": True,
            },
        },
    }
    storages._storages = {}
    export = Export.objects.create(
        grant=grant,
        requested_by=grant.grantee,
        format="csv",
        period_start=PERIOD[0],
        period_end=PERIOD[1],
        state=Export.State.READY,
        file_name=f"grant-{grant.pk}/export-1-abc.csv.gz",
        sha256="0" * 64,
        expires_at=timezone.now() + timedelta(minutes=10),
    )
    response = _api(client, secret, f"/api/v1/exports/{export.pk}/download")
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    if "X-Amz-Expires" in query:  # SigV4: a lifetime in seconds
        lifetime = int(query["X-Amz-Expires"][0])
    else:  # the storage's default signature here: an absolute time
        lifetime = int(query["Expires"][0]) - int(time.time())
    assert 540 <= lifetime <= 601
