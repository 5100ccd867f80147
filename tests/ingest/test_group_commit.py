"""Group commit on PostgreSQL: batches keep every answer's meaning (ingest.services.group_commit).

These tests commit for real (transactional), since the committer writes on a
connection of its own and could not see a test's open transaction.
"""

import dataclasses
import json
import os
import threading
import time
from datetime import date

import psycopg
import pytest
from django.db import DataError, IntegrityError, OperationalError, connection, transaction
from django.test import override_settings
from django.utils import timezone

from ingest.catalogue import REPORT_COLUMNS
from ingest.models import Report
from ingest.parsing import ParsedReport, ReportRejected, parse_report
from ingest.selectors import policy_get_enforced
from ingest.services import group_commit, report_ingest
from ingest.services.group_commit import Committer, PendingReport, ReportNotWritten
from ingest.services.reports import (
    BATCH_UPSERT_SQL,
    batch_rows,
    batch_values,
    report_params,
    report_row_write,
)
from tests.ingest.helpers import post_report
from tests.support import QUIRK_FIXTURES, velaux_fixture_paths

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def committer(postgres):
    committer = Committer(BATCH_UPSERT_SQL, batch_rows)
    yield committer
    committer.close()


def pending(typical_payload: dict, platform_id: str, addon: str = "fluxcd") -> PendingReport:
    policy = policy_get_enforced()
    document = dict(typical_payload, platformID=platform_id, enableAddonList={addon: "enabled"})
    report = parse_report(document, policy.approved)
    today = timezone.now().date()
    params = batch_values(report=report, report_date=today, policy=policy)
    return PendingReport(key=(platform_id, today), params=params)


def outside_connection() -> psycopg.Connection:
    """A connection of the test's own, to hold locks and end other sessions."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=True)


def test_two_reports_of_one_installation_in_one_batch_keep_the_last(committer, typical_payload):
    first = pending(typical_payload, "samebatch0000001", addon="first")
    second = pending(typical_payload, "samebatch0000001", addon="second")
    other = pending(typical_payload, "otherinstall0001")

    committer.commit([first, second, other])

    assert [first.outcome(), second.outcome(), other.outcome()] == [1, 2, 1]
    row = Report.objects.get(platform_id="samebatch0000001")
    assert row.revision == 2
    assert row.addons == {"second": "enabled"}


@override_settings(INGEST_MAX_REPORTS_PER_INSTALLATION_PER_DAY=3)
def test_the_daily_limit_is_exact_within_a_batch(committer, typical_payload):
    batch = [pending(typical_payload, "limitinbatch0001", addon=f"a{i}") for i in range(5)]

    committer.commit(batch)

    assert [item.outcome() for item in batch] == [1, 2, 3, None, None]
    row = Report.objects.get(platform_id="limitinbatch0001")
    assert row.revision == 3
    assert row.addons == {"a2": "enabled"}  # the last one stored; the two past it changed nothing


def test_a_failing_batch_fails_every_waiter_and_stores_nothing(
    committer, typical_payload, monkeypatch
):
    batch = [
        pending(typical_payload, "failing000000001", addon="first"),
        pending(typical_payload, "failing000000001", addon="second"),  # a second statement
        pending(typical_payload, "failing000000002"),
    ]
    write_round = committer.write_round
    statements = []

    def fail_on_the_second_statement(cursor, items):
        statements.append(len(items))
        if len(statements) == 2:
            raise OperationalError("server closed the connection unexpectedly")
        write_round(cursor, items)

    monkeypatch.setattr(committer, "write_round", fail_on_the_second_statement)
    committer.commit(batch)

    assert statements == [2, 1]  # the first statement ran: its rows were rolled back
    for item in batch:
        assert item.done
        with pytest.raises(OperationalError):
            item.outcome()
    assert not Report.objects.filter(platform_id__startswith="failing").exists()


def test_bad_data_in_one_report_fails_that_report_only(committer, typical_payload):
    good = pending(typical_payload, "gooddata00000001")
    bad = pending(typical_payload, "baddata000000001")
    bad.params[2] = 999_999  # a policy version that does not exist
    also_good = pending(typical_payload, "gooddata00000002")

    committer.commit([good, bad, also_good])

    assert good.outcome() == 1 and also_good.outcome() == 1
    with pytest.raises(IntegrityError):
        bad.outcome()
    stored = set(Report.objects.values_list("platform_id", flat=True))
    assert stored == {"gooddata00000001", "gooddata00000002"}


def test_the_committer_reconnects_after_its_session_is_ended(committer, typical_payload):
    first = pending(typical_payload, "reconnect0000001")
    committer.commit([first])
    backend_pid = committer.db.connection.info.backend_pid
    with outside_connection() as outside:  # as a PostgreSQL restart does to every session
        outside.execute("SELECT pg_terminate_backend(%s)", [backend_pid])

    lost = pending(typical_payload, "reconnect0000002")
    committer.commit([lost])
    with pytest.raises(OperationalError):
        lost.outcome()
    assert committer.db.connection is None  # closed, so the next batch opens a new one

    again = pending(typical_payload, "reconnect0000002")
    committer.commit([again])
    assert again.outcome() == 1
    assert committer.db.connection.info.backend_pid != backend_pid


def _prepared_statements(committer) -> int:
    with committer.db.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        return cursor.fetchone()[0]


@pytest.mark.parametrize("prepare", [True, False])
def test_the_statement_is_prepared_only_when_asked(committer, typical_payload, settings, prepare):
    settings.INGEST_GROUP_COMMIT_PREPARE = prepare  # False: behind a transaction pooler
    first, second = pending(typical_payload, "prepared00000001"), pending(typical_payload, "y" * 16)
    committer.commit([first, second])
    again = pending(typical_payload, "prepared00000001", addon="again")
    committer.commit([again])

    assert (first.outcome(), second.outcome(), again.outcome()) == (1, 1, 2)
    assert (_prepared_statements(committer) > 0) == prepare
    assert Report.objects.get(platform_id="prepared00000001").addons == {"again": "enabled"}


def test_revisions_are_matched_whatever_the_sessions_datestyle(committer, typical_payload):
    first = pending(typical_payload, "datestyle0000001")
    committer.commit([first])
    with committer.db.cursor() as cursor:
        cursor.execute("SET DateStyle = 'SQL, DMY'")  # a day would read 02/12/2026
    replaced = pending(typical_payload, "datestyle0000001", addon="second")
    committer.commit([replaced])

    assert replaced.outcome() == 2  # not None, which would mean the daily limit


def test_the_view_answers_503_when_its_batch_fails_and_202_once_reconnected(
    postgres, client, typical_payload
):
    assert post_report(client, typical_payload).status_code == 202
    backend_pid = group_commit._committer.db.connection.info.backend_pid
    with outside_connection() as outside:
        outside.execute("SELECT pg_terminate_backend(%s)", [backend_pid])

    refused = post_report(client, dict(typical_payload, platformID="afterrestart0001"))
    assert refused.status_code == 503
    assert refused.json()["error"] == "storage_unavailable"
    assert not Report.objects.filter(platform_id="afterrestart0001").exists()
    accepted = post_report(client, dict(typical_payload, platformID="afterrestart0001"))
    assert accepted.status_code == 202


def test_a_waiter_that_times_out_before_its_batch_withdraws_its_report(committer, typical_payload):
    committer.leading = True  # as while another thread's batch is being written
    item = pending(typical_payload, "timedout00000001")

    with pytest.raises(ReportNotWritten, match="nothing was stored"):
        committer.write(item, timeout=0.2)

    assert committer.pending == []
    committer.leading = False
    assert not Report.objects.filter(platform_id="timedout00000001").exists()


@override_settings(INGEST_GROUP_COMMIT_WAIT_MS=300)
def test_a_waiter_whose_batch_is_blocked_gets_an_error_not_a_2xx(committer, typical_payload):
    leader_item = pending(typical_payload, "blockedleader001")
    waiter_item = pending(typical_payload, "blockedwaiter001")
    outcomes: dict[str, object] = {}

    def lead():
        outcomes["leader"] = committer.write(leader_item, timeout=30)

    with outside_connection() as outside:
        outside.execute("BEGIN")
        outside.execute(f"LOCK TABLE {Report._meta.db_table} IN EXCLUSIVE MODE")
        leader = threading.Thread(target=lead)
        leader.start()
        time.sleep(0.05)  # the leader lingers 300 ms: the waiter joins its batch
        with pytest.raises(ReportNotWritten, match="did not finish"):
            committer.write(waiter_item, timeout=0.6)
        assert waiter_item.taken
        outside.execute("ROLLBACK")  # the lock goes; the batch commits
    leader.join(10)

    assert outcomes["leader"] == 1
    # The waiter was answered with an error; its row may exist, as when any answer is lost.
    assert Report.objects.filter(platform_id="blockedwaiter001").exists()


def test_concurrent_reports_of_one_process_share_statements(postgres, typical_payload, monkeypatch):
    policy = policy_get_enforced()
    threads = 16
    barrier = threading.Barrier(threads)
    statements = []
    real_write_round = Committer.write_round

    def counting_write_round(self, cursor, items):
        statements.append(len(items))
        time.sleep(0.02)  # a slow disk: reports pile up behind the running batch
        real_write_round(self, cursor, items)

    monkeypatch.setattr(Committer, "write_round", counting_write_round)

    def send(index: int) -> int:
        document = dict(typical_payload, platformID=f"concurrent{index:06d}")
        report = parse_report(document, policy.approved)
        barrier.wait()
        return report_ingest(report=report, policy=policy).revision

    workers = [threading.Thread(target=send, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)

    assert Report.objects.filter(platform_id__startswith="concurrent").count() == threads
    assert sum(statements) == threads
    assert len(statements) < threads  # grouped: fewer statements than reports


def test_the_daily_limit_still_answers_not_stored(postgres, client, typical_payload, settings):
    settings.INGEST_MAX_REPORTS_PER_INSTALLATION_PER_DAY = 1
    assert post_report(client, typical_payload).status_code == 202
    response = post_report(client, typical_payload)
    assert response.status_code == 200
    assert response.json()["status"] == "not_stored"
    assert group_commit._committer is not None  # answered through the committer


def test_a_forked_child_gets_a_committer_of_its_own(postgres, typical_payload, monkeypatch):
    policy = policy_get_enforced()
    report = parse_report(typical_payload, policy.approved)
    report_ingest(report=report, policy=policy)
    parent = group_commit._committer
    parent_connection = parent.db.connection
    child_pid = os.getpid() + 1
    monkeypatch.setattr(group_commit.os, "getpid", lambda: child_pid)

    assert report_ingest(report=report, policy=policy).revision == 2

    assert group_commit._committer is not parent
    assert parent.db.connection is parent_connection  # the parent's is left alone
    group_commit._committer.close()  # as the child's exit would
    parent.close()


def test_committer_stop_closes_its_connection(postgres, typical_payload):
    policy = policy_get_enforced()
    report_ingest(report=parse_report(typical_payload, policy.approved), policy=policy)
    committer = group_commit._committer
    assert committer.db.connection is not None

    group_commit.committer_stop()

    assert committer.db.connection is None
    assert group_commit._committer is None


def test_inside_a_transaction_the_caller_writes_its_report(postgres):
    assert group_commit.enabled()
    with transaction.atomic():
        assert not group_commit.enabled()


@override_settings(INGEST_GROUP_COMMIT=False)
def test_group_commit_can_be_turned_off(postgres):
    assert not group_commit.enabled()


def test_report_dates_are_part_of_the_key():
    today, yesterday = date(2026, 12, 2), date(2026, 12, 1)
    batch = [
        PendingReport(key=("midnight00000001", yesterday), params=[]),
        PendingReport(key=("midnight00000001", today), params=[]),
        PendingReport(key=("midnight00000001", today), params=[]),
    ]
    rounds = group_commit.rounds_of(batch)
    assert [len(statement) for statement in rounds] == [2, 1]


def _stored(platform_id: str) -> dict:
    row = Report.objects.filter(platform_id=platform_id).values().get()
    return {k: v for k, v in row.items() if k not in ("id", "platform_id")}


def _stored_both_ways(committer, report: ParsedReport) -> tuple[dict, dict]:
    """The report stored by UPSERT_SQL and by a batch of the committer: both rows."""
    policy = policy_get_enforced()
    today = timezone.now().date()
    single = dataclasses.replace(report, platform_id="singlestatement1")
    report_row_write(report_params(report=single, report_date=today, policy=policy))
    batched = dataclasses.replace(report, platform_id="batchstatement01")
    item = PendingReport(
        key=(batched.platform_id, today),
        params=batch_values(report=batched, report_date=today, policy=policy),
    )
    committer.commit([item])
    assert item.outcome() == 1
    return _stored("singlestatement1"), _stored("batchstatement01")


@pytest.mark.parametrize(
    "path", [*velaux_fixture_paths(), *sorted(QUIRK_FIXTURES.glob("*.json"))], ids=lambda p: p.name
)
def test_a_batch_stores_exactly_what_the_single_statement_stores(committer, path):
    """The batch's JSON parameter (json_populate_recordset) against UPSERT_SQL's typed
    parameters: every column, for every client shape and quirk kept with the tests."""
    policy = policy_get_enforced()
    document = json.loads(path.read_text())
    try:
        report = parse_report(document, policy.approved)
    except ReportRejected:
        pytest.skip("a payload the receiver refuses")
    single, batched = _stored_both_ways(committer, report)
    assert batched == single
    assert any(value is not None for value in batched.values())


def test_awkward_values_survive_the_batchs_json_exactly(committer):
    """Quotes, backslashes, non-ASCII, empty texts and containers, NULLs and dates."""
    columns = {
        "release": 'v1.9"4\\beta',
        "git_commit": "",
        "install_date": date(2021, 2, 28),
        "cluster_count_bucket": "<10",
        "app_count_bucket": None,
        "addons": {'a"b': "en\\abled", "ü-addon": "enabled", "": ""},
        "component_definitions": ["webservice", "зад", 'q"uote'],
        "trait_definitions": [],
        "workflow_step_definitions": None,
        "policy_definitions": ["topology"],
        "browser_family": "chrome",
        "browser_major_version": 0,
        "screen_width": 2**31 - 1,
    }
    assert set(columns) == set(REPORT_COLUMNS)  # a new column needs a value here too
    single, batched = _stored_both_ways(committer, ParsedReport("awkwardvalues001", columns))
    assert batched == single
    assert batched["addons"] == columns["addons"] and batched["workflow_step_definitions"] is None


def test_the_statement_is_numbered_for_libpq():
    numbered = group_commit.libpq_query("SELECT %s::json WHERE x < %s")
    assert numbered == b"SELECT $1::json WHERE x < $2"
    with pytest.raises(ValueError, match="placeholders"):
        group_commit.libpq_query("SELECT %(name)s")


def test_a_server_error_is_djangos_error_for_its_sqlstate(committer, typical_payload):
    item = pending(typical_payload, "badjson000000001")
    committer.encode = lambda rows: "not json"  # the server refuses the parameter

    committer.commit([item])

    with pytest.raises(DataError) as raised:
        item.outcome()
    assert raised.value.__cause__.__cause__.sqlstate == "22P02"  # invalid_text_representation
    assert committer.db.connection is not None  # not a lost connection: kept open
