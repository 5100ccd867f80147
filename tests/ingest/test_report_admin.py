"""The admin's report pages: no platformID shown, an exact lookup only, every page audited.

A platformID is an installation's only credential: whoever reads one can overwrite the
installation's report of the day, use up its daily limit or erase its history.
"""

import json
from datetime import date, timedelta

import pytest

from ingest.models import Report
from ingest.services import installation_digest
from portal.models import AuditEvent
from tests.ingest.factories import report_row

pytestmark = pytest.mark.django_db
HELPED = "helpedInstall0042"
OTHERS = [f"otherInstall{n:04d}" for n in range(20)]
LIST = "/admin/ingest/report/"


@pytest.fixture
def reports():
    days = [date(2026, 2, 1) + timedelta(days=n) for n in range(3)]
    Report.objects.bulk_create(
        [report_row(HELPED, day) for day in days]
        + [report_row(platform_id, days[0]) for platform_id in OTHERS]
    )


def _ids_in(text: str) -> list[str]:
    return [p for p in (HELPED, *OTHERS) if p in text]


def test_the_report_pages_never_show_a_platform_id(client, auditor, reports):
    client.force_login(auditor)
    report = Report.objects.filter(platform_id=HELPED).first()
    for path in (LIST, f"{LIST}{report.pk}/change/", f"{LIST}{report.pk}/history/"):
        page = client.get(path)
        assert page.status_code == 200
        assert _ids_in(page.content.decode()) == [], path
    listing = client.get(LIST).content.decode()
    assert installation_digest(HELPED) in listing  # named by the keyed digest instead
    change = client.get(f"{LIST}{report.pk}/change/").content.decode()
    assert installation_digest(HELPED) in change and "v1.9.4" in change


@pytest.mark.parametrize(
    "term",
    ["helped", "helpedInstall004", "Install0042", "HELPEDINSTALL0042", "helped%", "other"],
)
def test_a_part_of_an_id_finds_nothing(client, auditor, reports, term):
    client.force_login(auditor)
    page = client.get(LIST, {"q": term})
    assert page.status_code == 200
    assert page.context_data["cl"].result_count == 0


def test_the_exact_id_finds_the_installations_reports(client, auditor, reports):
    client.force_login(auditor)
    page = client.get(LIST, {"q": f"  {HELPED} "})
    assert page.context_data["cl"].result_count == 3
    assert {installation_digest(r.platform_id) for r in page.context_data["cl"].result_list} == {
        installation_digest(HELPED)
    }


def test_a_lookup_is_audited_with_the_digest_never_the_id(client, auditor, reports):
    client.force_login(auditor)
    client.get(LIST, {"q": HELPED})
    (event,) = AuditEvent.objects.filter(action="installation.looked_up")
    assert (event.actor, event.target_type) == (auditor, "installation")
    assert event.target_id == installation_digest(HELPED)  # the digest erasures are audited with
    assert event.details["rows"] == 3
    assert HELPED not in json.dumps(list(AuditEvent.objects.values()), default=str)


def test_each_page_seen_writes_one_audit_row(client, auditor, reports):
    client.force_login(auditor)
    client.get(LIST)
    client.get(LIST, {"report_date__gte": "2026-02-02", "p": "0"})
    report = Report.objects.filter(platform_id=HELPED).first()
    client.get(f"{LIST}{report.pk}/change/")
    events = list(AuditEvent.objects.order_by("id"))
    assert [e.action for e in events] == [
        "reports.admin_listed",
        "reports.admin_listed",
        "report.admin_viewed",
    ]
    assert events[0].details["rows"] == 23  # one row for the whole page, not one per report
    assert events[1].details["parameters"] == {"report_date__gte": "2026-02-02", "p": "0"}
    assert (events[2].target_type, events[2].target_id) == ("ingest.report", str(report.pk))
    assert events[2].details["installation"] == installation_digest(HELPED)
    assert all(e.actor == auditor for e in events)


def test_refused_pages_write_no_read_row(client, reports, maintainer):
    client.force_login(maintainer)
    assert client.get(LIST).status_code == 403  # reports are for auditors and superusers
    report = Report.objects.first()
    assert client.get(f"{LIST}{report.pk}/change/").status_code == 403
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "lookup", ["platform_id__startswith", "platform_id", "platform_id__regex", "platform_id__gt"]
)
def test_no_filter_reaches_the_platform_id(client, auditor, reports, lookup):
    client.force_login(auditor)
    response = client.get(LIST, {lookup: "h"})
    assert response.status_code == 400
    assert not AuditEvent.objects.exists()
