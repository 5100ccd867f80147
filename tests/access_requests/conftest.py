"""Fixtures of the export tests (test_exports.py, test_export_expiry.py)."""

from datetime import timedelta

import pytest

from access_requests import services
from access_requests.services import exports as export_services
from ingest.models import Report
from tests.access_requests.helpers import PERIOD, grant_for
from tests.ingest.factories import report_row


@pytest.fixture
def manual_builds(monkeypatch):
    """Requests are recorded but not handed to Celery: the test drives the build."""
    enqueued = []
    monkeypatch.setattr(
        export_services, "export_enqueue", lambda *, export_id: enqueued.append(export_id) or True
    )
    return enqueued


@pytest.fixture
def export_reports():
    """Four installations a day around PERIOD; one sends a release that looks like a formula."""
    rows = []
    for offset in range(-3, 31):
        day = PERIOD[0] + timedelta(days=offset)
        for n in range(4):
            rows.append(report_row(f"install{n}", day, release=("-2+3" if n == 3 else "v1.9.4")))
    Report.objects.bulk_create(rows)


@pytest.fixture
def granted(applicant, maintainer):
    """A grant of six elements over PERIOD, and its read token's secret."""
    grant = grant_for(
        applicant,
        maintainer,
        elements=(
            "platformID",
            "requestTime",
            "version",
            "enableAddonList",
            "xDefinitionTopList",
            "clusterCount",
        ),
    )
    _, secret = services.token_mint(grant=grant, user=applicant, name="exports")
    return grant, secret
