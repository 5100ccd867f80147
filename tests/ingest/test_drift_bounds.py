"""Client drift is stored in bounded space: a flood of invented names cannot grow it.

Issue 12, finding 4: each anonymous report could add ~98 junk field names, each a row,
and the drift page listed every row of 30 days on one page.
"""

import threading
from collections import Counter
from datetime import date, timedelta

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from ingest import drift
from ingest.models import DiscardedFieldCount
from tests.ingest.helpers import post_report
from tests.support import on_postgres, require_service

pytestmark = pytest.mark.django_db
BOUND = 1000


@pytest.fixture(autouse=True)
def _fresh_drift(settings):
    settings.INGEST_DRIFT_MAX_NAMES_PER_DAY = BOUND
    settings.INGEST_DRIFT_FLUSH_SECONDS = 0
    drift.reset()
    yield
    drift.reset()


def _junk_report(index: int) -> dict:
    """The most names one report may carry: 48 invented at the top, 49 in browserInfo,
    beside one real discarded name (browserInfo.language)."""
    report = {f"junk{index}x{n}": 1 for n in range(48)}
    report["platformID"] = f"flood{index}"
    report["browserInfo"] = {f"b{index}x{n}": 1 for n in range(49)} | {"language": "en"}
    return report


def _rows_of(day: date) -> dict[str, int]:
    rows = DiscardedFieldCount.objects.filter(report_date=day).values("field_name")
    return {row["field_name"]: row["total"] for row in rows.annotate(total=Sum("count"))}


def test_a_flood_of_junk_names_leaves_at_most_the_bound_per_day(client, typical_payload):
    for index in range(3):  # ordinary clients first: their names are stored
        report = dict(typical_payload, platformID=f"real{index}")
        assert post_report(client, report).status_code == 202
    sent = 0
    for index in range(30):
        response = post_report(client, _junk_report(index))
        assert response.status_code == 202, response.content
        assert len(response.json()["discarded_fields"]) == 98
        sent += 98
    rows = _rows_of(timezone.now().date())
    assert len(rows) <= BOUND + 1  # the bound, and one "(other names)" row
    assert len([name for name in rows if name != drift.OTHER_NAMES]) <= BOUND
    assert rows["browserInfo.language"] == 33  # a name stored before the flood still counts
    assert rows["browserInfo.screenHeight"] == 3
    assert sum(rows.values()) == sent + 6  # nothing is lost: the rest is in "(other names)"
    assert rows[drift.OTHER_NAMES] == sent - 30 - (BOUND - 2)


def test_names_that_are_long_or_exotic_are_counted_not_stored(client, typical_payload):
    longest = "a" * 64
    typical_payload.update(
        {longest: 1, "b" * 65: 1, "名前": 1, "with space": 1, "<script>": 1, "": 1}
    )
    assert post_report(client, typical_payload).status_code == 202
    rows = _rows_of(timezone.now().date())
    assert rows[longest] == 1
    assert rows[drift.OTHER_NAMES] == 5
    assert all(drift.STORABLE_NAME.fullmatch(n) for n in rows if n != drift.OTHER_NAMES)


def test_between_flushes_the_memory_of_a_process_is_bounded_too(settings):
    settings.INGEST_DRIFT_FLUSH_SECONDS = 3600
    day = timezone.now().date()
    try:
        for index in range(50):
            drift.discarded_fields_count(
                report_date=day, names=[f"junk{index}x{n}" for n in range(98)]
            )
        assert len(drift._pending[day]) <= BOUND + 1
        assert sum(drift._pending[day].values()) == 50 * 98
    finally:
        drift.reset()


@pytest.mark.django_db(transaction=True)
def test_concurrent_flushes_keep_the_bound_together():
    """Two processes flushing at once: each sees room for all its names, only one may use it."""
    require_service("PostgreSQL (set DATABASE_URL)", on_postgres())
    day = timezone.now().date()
    batches = [Counter({f"p{worker}x{n}": 1 for n in range(700)}) for worker in range(2)]
    barrier = threading.Barrier(2)
    errors = []

    def flush(batch):
        try:
            barrier.wait()
            drift._write({day: batch})
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=flush, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    rows = _rows_of(day)
    assert len([name for name in rows if name != drift.OTHER_NAMES]) == BOUND
    assert rows[drift.OTHER_NAMES] == 1400 - BOUND


@pytest.mark.slow  # 30,000 drift rows
def test_the_drift_page_is_paginated_and_small_at_the_bound(
    client, superuser, django_assert_max_num_queries
):
    today = timezone.now().date()
    DiscardedFieldCount.objects.bulk_create(
        DiscardedFieldCount(
            report_date=today - timedelta(days=day), field_name=f"name{n:04d}", count=n + 1
        )
        for day in range(30)
        for n in range(BOUND)
    )
    client.force_login(superuser)
    with django_assert_max_num_queries(12):
        first = client.get("/admin/ingest/discardedfieldcount/")
    assert first.status_code == 200
    page = first.content.decode()
    assert page.count("<code>name") == 100
    assert len(first.content) < 60_000  # every row of 30 days was ~3.5 MB
    assert "Page 1 of 300" in page
    assert f"<code>name{BOUND - 1:04d}</code></td><td>{BOUND}</td>" in page  # most sent first

    last = client.get("/admin/ingest/discardedfieldcount/", {"p": "300"}).content.decode()
    assert last.count("<code>name") == 100
    assert "Page 300 of 300" in last
    beyond = client.get("/admin/ingest/discardedfieldcount/", {"p": "junk"})
    assert beyond.status_code == 200  # a bad page number shows the first page, not an error
