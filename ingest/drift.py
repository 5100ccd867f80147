"""Counting the names of discarded fields, off the hot path, in bounded space.

Nearly every VelaUX report carries fields the policy does not keep (language,
screenHeight), so counting them inside each report's transaction would make every
report update the same few rows. Instead each process adds names up in memory
and writes them in one statement every INGEST_DRIFT_FLUSH_SECONDS. A crash loses
at most that interval of counts: they show client drift, not data.

Any anonymous report may carry ~98 invented names, so storage is bounded: a day
keeps at most INGEST_DRIFT_MAX_NAMES_PER_DAY distinct names, and a name is stored
only when it looks like a field name (STORABLE_NAME: at most 64 ASCII letters,
digits and ``_.$-``). Every other name, and every new name past the bound, is
counted in the day's one OTHER_NAMES row: the count survives, the text does not.
Names are not truncated: a cut name is a name nobody sent, and cutting would still
let distinct prefixes fill the day. The same bound holds in memory between flushes.
"""

import atexit
import logging
import re
import threading
import time
from collections import Counter
from datetime import date, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from ingest.models import DiscardedFieldCount

logger = logging.getLogger(__name__)
OTHER_NAMES = "(other names)"  # holds a space and brackets: no storable name collides
STORABLE_NAME = re.compile(r"[A-Za-z0-9_.$-]{1,64}")
# Flushes from every process take this PostgreSQL advisory lock, so the per-day bound
# holds across processes; SQLite's IMMEDIATE transactions serialise them anyway.
FLUSH_LOCK_ID = 0x6472696674  # "drift"

_lock = threading.Lock()
_pending: dict[date, Counter[str]] = {}
_stored: dict[date, set[str]] = {}  # names this process knows are stored, per day
_last_flush = [time.monotonic()]


def discarded_fields_count(*, report_date: date, names: list[str]) -> None:
    limit = settings.INGEST_DRIFT_MAX_NAMES_PER_DAY
    with _lock:
        pending = _pending.setdefault(report_date, Counter())
        stored = _stored.get(report_date, set())
        for name in names:
            if not STORABLE_NAME.fullmatch(name):
                name = OTHER_NAMES
            elif name not in pending and name not in stored and len(pending) >= limit:
                name = OTHER_NAMES  # in memory, too, a day holds at most the bound
            pending[name] += 1
        due = time.monotonic() - _last_flush[0] >= settings.INGEST_DRIFT_FLUSH_SECONDS
    if due:
        discarded_fields_flush()


def discarded_fields_flush() -> int:
    """Write the counts gathered so far; on a database error they are kept for next time."""
    with _lock:
        batch = {day: counts for day, counts in _pending.items() if counts}
        _pending.clear()
        _last_flush[0] = time.monotonic()
    if not batch:
        return 0
    try:
        admitted = _write(batch)
    except DatabaseError:
        logger.warning("Discarded-field counts not written yet; keeping them for later.")
        with _lock:
            for day, counts in batch.items():
                _pending.setdefault(day, Counter()).update(counts)
        return 0
    _remember(admitted)
    return sum(len(counts) for counts in admitted.values())


def _write(batch: dict[date, Counter[str]]) -> dict[date, Counter[str]]:
    """Store one batch within the bound, whatever other processes flush meanwhile."""
    with transaction.atomic():
        _serialise_flushes()
        admitted = {day: _admit(day, counts) for day, counts in sorted(batch.items())}
        _upsert(admitted)
    return admitted


def _serialise_flushes() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FLUSH_LOCK_ID])


def _admit(day: date, counts: Counter[str]) -> Counter[str]:
    """The day's counts as they may be stored: new names up to the bound, the rest OTHER.

    Stored names always count. New ones are admitted most frequent first, so in a
    flood the fields many clients send win over names each sent once.
    """
    names = [name for name in counts if name != OTHER_NAMES]
    rows = DiscardedFieldCount.objects.filter(report_date=day).exclude(field_name=OTHER_NAMES)
    stored = set(rows.filter(field_name__in=names).values_list("field_name", flat=True))
    room = settings.INGEST_DRIFT_MAX_NAMES_PER_DAY - rows.values("field_name").distinct().count()
    admitted: Counter[str] = Counter()
    for name in sorted(names, key=lambda n: (n not in stored, -counts[n], n)):
        if name in stored:
            admitted[name] = counts[name]
        elif room > 0:
            admitted[name], room = counts[name], room - 1
        else:
            admitted[OTHER_NAMES] += counts[name]
    admitted[OTHER_NAMES] += counts[OTHER_NAMES]
    return +admitted  # drops a zero OTHER_NAMES


def _upsert(admitted: dict[date, Counter[str]]) -> None:
    rows = sorted((day, name, n) for day, counts in admitted.items() for name, n in counts.items())
    if not rows:
        return
    table = DiscardedFieldCount._meta.db_table
    values = ", ".join(["(%s, %s, 0, %s)"] * len(rows))
    params = [value for row in rows for value in row]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (report_date, field_name, shard, count) "  # noqa: S608 - identifiers from the model and code  # nosec B608
            f"VALUES {values} ON CONFLICT (report_date, field_name, shard) "
            f"DO UPDATE SET count = {table}.count + EXCLUDED.count",
            params,
        )


def _remember(admitted: dict[date, Counter[str]]) -> None:
    """Keep the stored names of the last two days, so a flood cannot push them to OTHER."""
    with _lock:
        for day, counts in admitted.items():
            _stored.setdefault(day, set()).update(n for n in counts if n != OTHER_NAMES)
        newest = max(_stored)
        for day in [d for d in _stored if d < newest - timedelta(days=1)]:
            del _stored[day]


def reset() -> None:
    """Forget what this process holds (tests, after a settings change)."""
    with _lock:
        _pending.clear()
        _stored.clear()


def _flush_at_exit() -> None:
    try:
        discarded_fields_flush()
    except Exception:  # the process is ending; nothing more can be done
        logger.warning("Discarded-field counts lost at exit.")


atexit.register(_flush_at_exit)
