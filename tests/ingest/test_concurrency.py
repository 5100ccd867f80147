"""Twenty concurrent reports for one installation on one day leave one row: the last committed."""

import json
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from ingest.models import Report
from ingest.parsing import parse_report
from ingest.selectors import policy_get_enforced
from ingest.services import report_ingest

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
REPORTS = 20
ADDONS = [f"addon-{index}" for index in range(REPORTS)]


def _payload(typical_payload: dict, index: int) -> dict:
    return dict(typical_payload, enableAddonList={ADDONS[index]: "enabled"})


def test_concurrent_reports_leave_the_last_committed_one(postgres, typical_payload):
    policy = policy_get_enforced()
    barrier = threading.Barrier(REPORTS)

    def send(index: int) -> tuple[int, int]:
        report = parse_report(_payload(typical_payload, index), policy.approved)
        barrier.wait()
        try:
            return index, report_ingest(report=report, policy=policy).revision
        finally:
            connection.close()

    with ThreadPoolExecutor(REPORTS) as pool:
        outcomes = dict(pool.map(send, range(REPORTS)))

    assert sorted(outcomes.values()) == list(range(1, REPORTS + 1))  # serialised, none lost
    last_committed = max(outcomes, key=outcomes.get)
    row = Report.objects.get(platform_id=typical_payload["platformID"])
    assert row.revision == REPORTS
    assert row.addons == {ADDONS[last_committed]: "enabled"}


def test_concurrent_http_reports_leave_one_row(postgres, live_server, typical_payload):
    barrier = threading.Barrier(REPORTS)

    def send(index: int) -> dict:
        body = json.dumps(_payload(typical_payload, index)).encode()
        request = urllib.request.Request(
            f"{live_server.url}/collecting",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        barrier.wait()
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 202
            return json.loads(response.read())

    with ThreadPoolExecutor(REPORTS) as pool:
        answers = list(pool.map(send, range(REPORTS)))

    assert [a["report"] for a in answers].count("new") == 1
    assert [a["report"] for a in answers].count("replaced") == REPORTS - 1
    row = Report.objects.get(platform_id=typical_payload["platformID"])
    assert row.revision == REPORTS
    assert next(iter(row.addons)) in ADDONS
