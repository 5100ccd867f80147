"""Counting the names of discarded fields, off the hot path.

Nearly every VelaUX report carries fields the policy does not keep (language,
screenHeight), so counting them inside each report's transaction would make every
report update the same few rows. Instead each process adds names up in memory
and writes them in one statement every INGEST_DRIFT_FLUSH_SECONDS. A crash loses
at most that interval of counts: they show client drift, not data.
"""

import atexit
import logging
import threading
import time
from collections import Counter
from datetime import date

from django.conf import settings
from django.db import DatabaseError, connection

from ingest.models import DiscardedFieldCount

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_pending: Counter[tuple[date, str]] = Counter()
_last_flush = [time.monotonic()]


def discarded_fields_count(*, report_date: date, names: list[str]) -> None:
    with _lock:
        for name in names:
            _pending[(report_date, name)] += 1
        due = time.monotonic() - _last_flush[0] >= settings.INGEST_DRIFT_FLUSH_SECONDS
    if due:
        discarded_fields_flush()


def discarded_fields_flush() -> int:
    """Write the counts gathered so far; on a database error they are kept for next time."""
    with _lock:
        batch = dict(_pending)
        _pending.clear()
        _last_flush[0] = time.monotonic()
    if not batch:
        return 0
    rows = sorted(batch.items())  # one order everywhere: no deadlock between processes
    table = DiscardedFieldCount._meta.db_table
    values = ", ".join(["(%s, %s, 0, %s)"] * len(rows))
    params = [value for (day, name), count in rows for value in (day, name, count)]
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (report_date, field_name, shard, count) "  # noqa: S608 - identifiers from the model and code  # nosec B608
                f"VALUES {values} ON CONFLICT (report_date, field_name, shard) "
                f"DO UPDATE SET count = {table}.count + EXCLUDED.count",
                params,
            )
    except DatabaseError:
        logger.warning("Discarded-field counts not written yet; keeping them for later.")
        with _lock:
            _pending.update(batch)
        return 0
    return len(rows)


def _flush_at_exit() -> None:
    try:
        discarded_fields_flush()
    except Exception:  # the process is ending; nothing more can be done
        logger.warning("Discarded-field counts lost at exit.")


atexit.register(_flush_at_exit)
