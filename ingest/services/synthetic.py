"""Loading a synthetic fleet (``ingest.synthetic``) into ``ingest_report``, all or nothing.

PostgreSQL is loaded with COPY; other databases with bulk_create. Rows that already
exist are skipped, so a re-run never fails.
"""

import gc
from itertools import islice

from django.db import connection, transaction

from ingest.models import Report
from ingest.synthetic import COPY_COLUMNS, Fleet, copy_chunks, report_objects

# Identifiers only come from the model and the constants above, never from input.
REPORT_TABLE = Report._meta.db_table
STAGE_TABLE = "generate_telemetry_stage"
COLUMN_LIST = ", ".join(COPY_COLUMNS)
COPY_SQL = f"COPY {REPORT_TABLE} ({COLUMN_LIST}) FROM STDIN"
CREATE_STAGE_SQL = (
    f"CREATE TEMPORARY TABLE {STAGE_TABLE} ON COMMIT DROP AS "  # noqa: S608 - identifiers from the model and code  # nosec B608
    f"SELECT {COLUMN_LIST} FROM {REPORT_TABLE} WITH NO DATA"
)
COPY_STAGE_SQL = f"COPY {STAGE_TABLE} ({COLUMN_LIST}) FROM STDIN"
INSERT_FROM_STAGE_SQL = (
    f"INSERT INTO {REPORT_TABLE} ({COLUMN_LIST}) "  # noqa: S608 - identifiers from the model and code  # nosec B608
    f"SELECT {COLUMN_LIST} FROM {STAGE_TABLE} "
    "ON CONFLICT (platform_id, report_date) DO NOTHING"
)
PERIOD_HAS_REPORTS_SQL = (
    f"SELECT EXISTS (SELECT 1 FROM {REPORT_TABLE} "  # noqa: S608 - identifiers from the model and code  # nosec B608
    "WHERE report_date BETWEEN %s AND %s)"
)


def load_postgresql(fleet: Fleet, batch_size: int) -> tuple[int, int]:
    """COPY straight into the table when no row can conflict, else through a stage.

    COPY cannot skip conflicting rows. When the period holds no report yet (a fresh
    database), nothing can conflict and the direct COPY saves a third of the time;
    should a report arrive meanwhile, the savepoint undoes it and the stage is used.
    Returns (rows generated, rows inserted).
    """
    from psycopg.errors import UniqueViolation  # only installed where PostgreSQL is used

    with connection.cursor() as cursor:
        cursor.execute(PERIOD_HAS_REPORTS_SQL, [fleet.dates[0], fleet.dates[-1]])
        if not cursor.fetchone()[0]:
            try:
                with transaction.atomic():
                    generated = copy_rows(cursor, COPY_SQL, fleet, batch_size)
                return generated, generated
            except UniqueViolation:
                pass
        return copy_through_stage(cursor, fleet, batch_size)


def copy_through_stage(cursor, fleet: Fleet, batch_size: int) -> tuple[int, int]:
    """COPY into a temporary table, then INSERT .. ON CONFLICT DO NOTHING.

    The re-run path: rows already present (same seed, or real reports) are skipped
    instead of failing the load.
    """
    cursor.execute(CREATE_STAGE_SQL)
    generated = copy_rows(cursor, COPY_STAGE_SQL, fleet, batch_size)
    cursor.execute(INSERT_FROM_STAGE_SQL)
    inserted = cursor.rowcount
    cursor.execute(f"DROP TABLE {STAGE_TABLE}")
    return generated, inserted


def copy_rows(cursor, sql: str, fleet: Fleet, batch_size: int) -> int:
    """Stream every report through COPY; returns the number of rows copied.

    The queued writer sends from a thread, so Python formats the next rows while
    PostgreSQL parses the previous ones (psycopg bounds the queue).
    """
    from psycopg.copy import QueuedLibpqWriter

    raw = cursor.cursor  # the psycopg cursor inside Django's wrapper
    with raw.copy(sql, writer=QueuedLibpqWriter(raw)) as copy:
        for chunk in copy_chunks(fleet, batch_size):
            copy.write(chunk)
    return raw.rowcount


def load_with_orm(fleet: Fleet, batch_size: int) -> tuple[int, int]:
    """bulk_create in batches, skipping rows that already exist (SQLite and others).

    ignore_conflicts hides which rows were skipped, so counting is the only way to
    report how many went in.
    """
    before = Report.objects.count()
    generated = 0
    reports = report_objects(fleet)
    while batch := list(islice(reports, batch_size)):
        Report.objects.bulk_create(batch, ignore_conflicts=True)
        generated += len(batch)
    return generated, Report.objects.count() - before


def fleet_load(*, fleet: Fleet, batch_size: int) -> tuple[int, int]:
    """Write the fleet's reports in one transaction: all of them or none.

    The cyclic garbage collector is paused meanwhile: the plan is millions of small
    acyclic objects that it would traverse again and again, for a third of the time.
    """
    loader = load_postgresql if connection.vendor == "postgresql" else load_with_orm
    collecting = gc.isenabled()
    gc.disable()
    try:
        with transaction.atomic():
            return loader(fleet, batch_size)
    finally:
        if collecting:
            gc.enable()
