"""Group commit: a process's waiting reports reach PostgreSQL in one statement.

Each report committed on its own costs PostgreSQL a WAL flush and its request
thread a round trip, and gunicorn's threads spend most of that waiting. Here the
request thread that finds no write in progress leads: it takes every report
waiting in its process (its own first, up to INGEST_GROUP_COMMIT_MAX_REPORTS,
after lingering INGEST_GROUP_COMMIT_WAIT_MS for more), writes them with one
multi-row upsert on the process's committer connection, and only once COMMIT has
returned wakes their threads: a 2xx still means the report is committed. Reports
that arrive meanwhile wait; the first of them leads the next batch. Alone, a
report is written at once, as before; no extra thread wakes for it.

- Two reports of one installation and day cannot be in one INSERT .. ON CONFLICT
  (it may not touch a row twice), so the n-th of them goes into the n-th statement
  of the same transaction, in arrival order: the last to arrive is the one kept,
  and each statement's ``revision < limit`` keeps the daily limit exact.
- A failing batch fails every waiter in it (the view answers 503); a failure that
  names bad data rather than the connection is retried one report at a time, so
  one report cannot take the others down. After a connection error the committer
  connection is closed, and the next batch opens a new one (a restarted server).
- A waiter that times out (INGEST_GROUP_COMMIT_TIMEOUT_MS) before its report was
  taken withdraws it: nothing is written. One whose batch is already running gets
  an error too, and its report may still be committed, as when any answer is lost.
- The batch travels as one JSON parameter (ingest.services.reports.batch_upsert_sql),
  so the statement's text is the same for every batch: the committer prepares it on
  the server once per connection (INGEST_GROUP_COMMIT_PREPARE; off behind a pooler
  that cannot keep prepared statements), and binds on the server, not in Python.
  It runs on the libpq connection itself (psycopg.pq: the call waits without the
  GIL), not through a cursor, whose query conversion, prepared-statement bookkeeping
  and result machinery cost more Python than the batch's own rows; a failed result
  becomes psycopg's exception for its SQLSTATE, and Django's as for any query.
- The committer connection is one per process, opened on first use (so after
  gunicorn's or Celery's fork), used by one leader at a time, and closed at exit.
  Inside a transaction (tests, management code) and on SQLite, reports are written
  by the caller, one statement each.
"""

import atexit
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import psycopg
from django.conf import settings
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    InterfaceError,
    OperationalError,
    connection,
    connections,
)
from psycopg.pq import ConnStatus, ExecStatus

STATEMENT_NAME = b"ingest_report_batch"
DONE = (ExecStatus.COMMAND_OK, ExecStatus.TUPLES_OK)
logger = logging.getLogger(__name__)


class ReportNotWritten(OperationalError):
    """The report waited longer than INGEST_GROUP_COMMIT_TIMEOUT_MS; its outcome is not known."""


@dataclass(eq=False)
class PendingReport:
    key: tuple[str, date]  # (platform_id, report_date): one row per installation and day
    params: list[Any]  # the row's values, in the upsert's column order
    wakeup: threading.Event = field(default_factory=threading.Event)  # done, or lead
    taken: bool = False  # in a batch being written: it can no longer be withdrawn
    done: bool = False
    revision: int | None = None  # once done; None when the daily limit was reached
    error: BaseException | None = None

    def outcome(self) -> int | None:
        if self.error is not None:
            raise type(self.error)(*self.error.args) from self.error
        return self.revision


def rounds_of(batch: list[PendingReport]) -> list[list[PendingReport]]:
    """Split a batch so that no statement holds one installation's day twice."""
    rounds: list[list[PendingReport]] = []
    seen: Counter[tuple[str, date]] = Counter()
    for item in batch:
        position = seen[item.key]
        seen[item.key] += 1
        if position == len(rounds):
            rounds.append([])
        rounds[position].append(item)
    return rounds


class Committer:
    """One per process: the reports waiting to be written, and the connection they use."""

    def __init__(self, statement: str, encode: Callable[[list[list[Any]]], str]) -> None:
        self.pid = os.getpid()
        # parameters: the rows as encoded by ``encode``, then the daily limit
        self.query = libpq_query(statement)
        self.encode = encode
        self.prepared_on: Any = None  # the libpq connection the statement is prepared on
        self.lock = threading.Lock()
        self.pending: list[PendingReport] = []
        self.leading = False  # a thread is writing a batch
        self.db = connections.create_connection(DEFAULT_DB_ALIAS)
        self.db.inc_thread_sharing()  # used by whichever thread leads, one at a time

    def write(self, item: PendingReport, timeout: float) -> int | None:
        with self.lock:
            self.pending.append(item)
            lead = not self.leading
            self.leading = True
        if not lead:  # woken when done, or to lead the next batch
            lead = not item.done if item.wakeup.wait(timeout) else self.timed_out(item)
        if lead:
            self.lead(item)
        return item.outcome()

    def timed_out(self, item: PendingReport) -> bool:
        """Withdraw a report not yet taken; True if it was just made leader after all."""
        with self.lock:
            if item.done:
                return False
            if item.taken:
                raise ReportNotWritten("The report's batch did not finish in time.")
            if item.wakeup.is_set():  # made leader as the wait ran out: lead after all
                return True
            self.pending.remove(item)
        raise ReportNotWritten("The report was not written in time; nothing was stored.")

    def lead(self, item: PendingReport) -> None:
        try:
            self.linger()
            while not item.done:
                with self.lock:
                    limit = settings.INGEST_GROUP_COMMIT_MAX_REPORTS
                    batch, self.pending = self.pending[:limit], self.pending[limit:]
                    for taken in batch:
                        taken.taken = True
                if not batch:  # cannot happen: its own report waits until written
                    break
                self.commit(batch)
        finally:
            with self.lock:
                if self.pending:
                    self.pending[0].wakeup.set()  # the next batch's leader
                else:
                    self.leading = False

    def linger(self) -> None:
        if settings.INGEST_GROUP_COMMIT_WAIT_MS and len(self.pending) == 1:
            time.sleep(settings.INGEST_GROUP_COMMIT_WAIT_MS / 1000)  # let others join

    def commit(self, batch: list[PendingReport]) -> None:
        try:
            self.write_batch(batch)
        except (OperationalError, InterfaceError) as exc:
            logger.warning("%d reports not stored: %s", len(batch), type(exc).__name__)
            self.db.close()  # perhaps broken (a restart): the next batch reconnects
            self.finish(batch, exc)
        except DatabaseError as exc:
            if len(batch) > 1:  # bad data in one report: write them one by one
                for item in batch:
                    self.commit([item])
                return
            logger.warning("A report was not stored: %s", type(exc).__name__)
            self.finish(batch, exc)
        except BaseException as exc:  # no waiter may wait for a batch that will not come
            self.finish(batch, exc)
            raise
        else:
            self.finish(batch)

    def finish(self, batch: list[PendingReport], exc: BaseException | None = None) -> None:
        for item in batch:
            if exc is not None:
                item.revision, item.error = None, exc
            item.done = True
            item.wakeup.set()

    def write_batch(self, batch: list[PendingReport]) -> None:
        rounds = rounds_of(batch)
        self.db.ensure_connection()
        # Django's wrapper turns psycopg's errors into django.db's, as for its own queries.
        with self.db.wrap_database_errors:
            pgconn = self.db.connection.pgconn
            if len(rounds) == 1:  # one statement: autocommit saves the BEGIN
                self.write_round(pgconn, rounds[0])
                return
            self.run(pgconn, b"BEGIN")
            try:
                for statement_round in rounds:
                    self.write_round(pgconn, statement_round)
            except BaseException:
                self.rollback(pgconn)
                raise
            self.run(pgconn, b"COMMIT")

    def rollback(self, pgconn) -> None:
        try:
            self.run(pgconn, b"ROLLBACK")
        except psycopg.Error:
            self.db.close()  # the connection is gone, and the transaction with it

    def run(self, pgconn, command: bytes) -> None:
        self.checked(pgconn, pgconn.exec_(command))

    def checked(self, pgconn, result):
        """The result, or psycopg's exception for it (OperationalError once the
        connection is lost, whatever the server said last)."""
        if result.status in DONE:
            return result
        if pgconn.status != ConnStatus.OK:
            message = result.get_error_message(self.db.connection.info.encoding)
            raise psycopg.OperationalError(message or "the connection was lost")
        raise psycopg.errors.error_from_result(result, self.db.connection.info.encoding)

    def write_round(self, pgconn, items: list[PendingReport]) -> None:
        params = [
            self.encode([item.params for item in items]).encode(),
            str(settings.INGEST_MAX_REPORTS_PER_INSTALLATION_PER_DAY).encode(),
        ]
        if not settings.INGEST_GROUP_COMMIT_PREPARE:
            result = self.checked(pgconn, pgconn.exec_params(self.query, params))
        else:
            if self.prepared_on is not pgconn:  # a new connection: prepare once on it
                self.checked(pgconn, pgconn.prepare(STATEMENT_NAME, self.query))
                self.prepared_on = pgconn
            result = self.checked(pgconn, pgconn.exec_prepared(STATEMENT_NAME, params))
        # The statement returns (platform_id, report_date in ISO form, revision) of each
        # row it wrote; a report at the daily limit returns nothing.
        revisions = {
            (result.get_value(row, 0), result.get_value(row, 1)): result.get_value(row, 2)
            for row in range(result.ntuples)
        }
        for item in items:
            platform_id, day = item.key
            revision = revisions.get((platform_id.encode(), day.isoformat().encode()))
            item.revision = None if revision is None else int(revision)

    def close(self) -> None:
        self.db.close()


_lock = threading.Lock()
_committer: Committer | None = None


def libpq_query(statement: str) -> bytes:
    """A statement written with psycopg's %s placeholders, numbered as libpq takes them."""
    if "%%" in statement or "%(" in statement:
        raise ValueError("only plain %s placeholders are supported")
    pieces = statement.split("%s")
    numbered = pieces[0] + "".join(f"${n}{piece}" for n, piece in enumerate(pieces[1:], 1))
    return numbered.encode()


def enabled() -> bool:
    """Whether reports of this thread go through the committer (see the module's docstring)."""
    return (
        settings.INGEST_GROUP_COMMIT
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
    )


def report_row_write(
    *,
    key: tuple[str, date],
    params: list[Any],
    statement: str,
    encode: Callable[[list[list[Any]]], str],
) -> int | None:
    """Write one report's row in the process's next batch; its revision, or None at the limit."""
    global _committer
    with _lock:
        if _committer is None or _committer.pid != os.getpid():  # first use, or a forked child
            _committer = Committer(statement, encode)
        committer = _committer
    timeout = settings.INGEST_GROUP_COMMIT_TIMEOUT_MS / 1000
    return committer.write(PendingReport(key=key, params=params), timeout)


def committer_stop() -> None:
    """Close this process's committer connection, if it has one: at exit (gunicorn lets
    its requests finish first) and between tests."""
    global _committer
    with _lock:
        committer, _committer = _committer, None
    if committer is not None and committer.pid == os.getpid():
        committer.close()


atexit.register(committer_stop)
