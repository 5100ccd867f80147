"""Group commit: a process's waiting reports reach PostgreSQL in one statement.

Each report committed on its own costs PostgreSQL a WAL flush and its request
thread a round trip, and gunicorn's threads spend most of that waiting. Here the
request thread hands its row to the process's committer thread and waits. The
committer takes every row waiting (up to INGEST_GROUP_COMMIT_MAX_REPORTS, after
lingering INGEST_GROUP_COMMIT_WAIT_MS for more), writes them in one transaction
with one multi-row upsert, and only once COMMIT has returned wakes the waiters:
a 2xx still means the report is committed.

- Two reports of one installation and day cannot be in one INSERT .. ON CONFLICT
  (it may not touch a row twice), so the n-th of them goes into the n-th statement
  of the same transaction, in arrival order: the last to arrive is the one kept,
  and each statement's ``revision < limit`` keeps the daily limit exact.
- A failing batch fails every waiter in it (the view answers 503); a failure that
  names bad data rather than the connection is retried one report at a time, so
  one report cannot take the others down. After a connection error the committer
  closes its connection, and the next batch opens a new one (a restarted server).
- A waiter that times out before its row was taken withdraws it (nothing is
  written); one whose batch is already running gets an error too, and its row may
  still be committed, as when any answer is lost on the way.
- The committer is started on first use in each process (so after gunicorn's or
  Celery's fork) with its own database connection, and stopped, connection closed,
  at exit. Inside a transaction (tests, management code) and on SQLite, reports
  are written by the caller, one statement each.
"""

import atexit
import logging
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction

logger = logging.getLogger(__name__)


class ReportNotWritten(OperationalError):
    """The report waited longer than INGEST_GROUP_COMMIT_TIMEOUT_MS; its outcome is not known."""


@dataclass(eq=False)
class PendingReport:
    key: tuple[str, date]  # (platform_id, report_date): one row per installation and day
    params: list[Any]  # the row's values, in the upsert's column order
    done: threading.Event = field(default_factory=threading.Event)
    taken: bool = False  # the committer has it in a batch: it can no longer be withdrawn
    revision: int | None = None  # after the commit; None when the daily limit was reached
    error: BaseException | None = None


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
    """One per process: the thread that writes the waiting reports, and their queue."""

    def __init__(self, upsert_sql) -> None:
        self.pid = os.getpid()
        self.upsert_sql = upsert_sql  # rows -> the statement for that many rows
        self.wakeup = threading.Condition()
        self.pending: list[PendingReport] = []
        self.stopping = False
        self.thread = threading.Thread(target=self.run, name="report-committer", daemon=True)
        self.thread.start()

    # --- the request threads' side -------------------------------------------------------

    def write(self, item: PendingReport, timeout: float) -> int | None:
        with self.wakeup:
            self.pending.append(item)
            self.wakeup.notify()
        if not item.done.wait(timeout):
            self.give_up(item)
        if item.error is not None:
            raise type(item.error)(*item.error.args) from item.error
        return item.revision

    def give_up(self, item: PendingReport) -> None:
        with self.wakeup:
            if not item.taken:
                self.pending.remove(item)
                raise ReportNotWritten("The report was not written in time; nothing was stored.")
        if not item.done.wait(0):
            raise ReportNotWritten("The report's batch did not finish in time.")

    # --- the committer thread ------------------------------------------------------------

    def run(self) -> None:
        try:
            while (batch := self.next_batch()) is not None:
                self.commit(batch)
        finally:
            connection.close()

    def next_batch(self) -> list[PendingReport] | None:
        limit = settings.INGEST_GROUP_COMMIT_MAX_REPORTS
        with self.wakeup:
            while not self.pending and not self.stopping:
                self.wakeup.wait()
            if not self.pending:
                return None  # stopping, and nothing left to write
            linger_until = time.monotonic() + settings.INGEST_GROUP_COMMIT_WAIT_MS / 1000
            while len(self.pending) < limit and not self.stopping:
                left = linger_until - time.monotonic()
                if left <= 0:
                    break
                self.wakeup.wait(left)
            batch, self.pending = self.pending[:limit], self.pending[limit:]
            for item in batch:
                item.taken = True
        return batch

    def commit(self, batch: list[PendingReport]) -> None:
        try:
            self.write_batch(batch)
        except (OperationalError, InterfaceError) as exc:
            logger.warning("%d reports not stored: %s", len(batch), type(exc).__name__)
            connection.close()  # perhaps broken (a restart): the next batch reconnects
            self.fail(batch, exc)
        except DatabaseError as exc:
            if len(batch) > 1:  # bad data in one report: write them one by one
                for item in batch:
                    self.commit([item])
                return
            logger.warning("A report was not stored: %s", type(exc).__name__)
            self.fail(batch, exc)
        except BaseException as exc:  # no waiter may wait for a batch that will not come
            self.fail(batch, exc)
            raise
        else:
            for item in batch:
                item.done.set()

    def fail(self, batch: list[PendingReport], exc: BaseException) -> None:
        for item in batch:
            item.revision, item.error = None, exc
            item.done.set()

    def write_batch(self, batch: list[PendingReport]) -> None:
        rounds = rounds_of(batch)
        if len(rounds) == 1:  # one statement: autocommit saves the BEGIN
            self.write_round(rounds[0])
            return
        with transaction.atomic():
            for statement_round in rounds:
                self.write_round(statement_round)

    def write_round(self, items: list[PendingReport]) -> None:
        params = [value for item in items for value in item.params]
        params.append(settings.INGEST_MAX_REPORTS_PER_INSTALLATION_PER_DAY)
        with connection.cursor() as cursor:
            cursor.execute(self.upsert_sql(len(items)), params)
            revisions = {(pid, day): revision for pid, day, revision in cursor.fetchall()}
        for item in items:
            item.revision = revisions.get(item.key)

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is waiting, then end the thread (its connection is closed)."""
        with self.wakeup:
            self.stopping = True
            self.wakeup.notify()
        self.thread.join(timeout)


_lock = threading.Lock()
_committer: Committer | None = None


def enabled() -> bool:
    """Whether reports of this thread go through the committer (see the module's docstring)."""
    return (
        settings.INGEST_GROUP_COMMIT
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
    )


def report_row_write(*, key: tuple[str, date], params: list[Any], upsert_sql) -> int | None:
    """Write one report's row in the process's next batch; its revision, or None at the limit."""
    global _committer
    with _lock:
        if _committer is None or _committer.pid != os.getpid():  # first use, or a forked child
            _committer = Committer(cache(upsert_sql))
        committer = _committer
    timeout = settings.INGEST_GROUP_COMMIT_TIMEOUT_MS / 1000
    return committer.write(PendingReport(key=key, params=params), timeout)


def committer_stop() -> None:
    """Stop this process's committer, if it runs (at exit, and between tests)."""
    global _committer
    with _lock:
        committer, _committer = _committer, None
    if committer is not None and committer.pid == os.getpid():
        committer.stop()


atexit.register(committer_stop)
