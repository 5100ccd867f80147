import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ingest.catalogue import JSON_COLUMNS, REPORT_COLUMNS
from ingest.drift import discarded_fields_count
from ingest.models import DiscardedFieldCount, Report
from ingest.parsing import ParsedReport
from ingest.selectors import EnforcedPolicy
from ingest.services import group_commit
from ingest.services.releases import stats_releases_delete_before
from ingest.services.rollups import rollups_delete_before, rollups_mark_stale
from portal.metrics import discarded_fields_record
from portal.services import audit_event_record


def upsert_sql(report_columns: tuple[str, ...], rows: int = 1) -> str:
    """INSERT .. ON CONFLICT for ``rows`` reports of distinct installations.

    The revision counter is the daily limit: past it a row is left as it is and not
    returned. The limit is the statement's last parameter.
    """
    table = Report._meta.db_table
    columns = ("platform_id", "report_date", "policy_version_id", *report_columns, "revision")
    row = "(" + ", ".join(["%s"] * (len(columns) - 1) + ["1"]) + ")"
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in ("policy_version_id", *report_columns))
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * rows)} "  # noqa: S608 - identifiers from the model and code  # nosec B608
        f"ON CONFLICT (platform_id, report_date) DO UPDATE SET {updates}, "
        f"revision = {table}.revision + 1 WHERE {table}.revision < %s "
        "RETURNING platform_id, report_date, revision"
    )


UPSERT_SQL = upsert_sql(REPORT_COLUMNS)
BATCH_COLUMNS = ("platform_id", "report_date", "policy_version_id", *REPORT_COLUMNS)


def batch_upsert_sql(report_columns: tuple[str, ...] = REPORT_COLUMNS) -> str:
    """UPSERT_SQL for a batch of reports of distinct installations, in two parameters.

    The rows travel as one JSON array of objects keyed by column name (``batch_rows``),
    read by ``json_populate_recordset`` into the table's own row type: one parameter
    whatever the batch's size, so the statement is the same text for every batch and
    the server prepares it once. The daily limit follows.
    """
    table = Report._meta.db_table
    columns = ", ".join(("platform_id", "report_date", "policy_version_id", *report_columns))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in ("policy_version_id", *report_columns))
    return (
        f"INSERT INTO {table} ({columns}, revision) "  # noqa: S608 - identifiers from the model and code  # nosec B608
        f"SELECT {columns}, 1 FROM json_populate_recordset(NULL::{table}, %s::json) "
        f"ON CONFLICT (platform_id, report_date) DO UPDATE SET {updates}, "
        f"revision = {table}.revision + 1 WHERE {table}.revision < %s "
        # the day as ISO text whatever the session's DateStyle: the committer reads text
        "RETURNING platform_id, to_char(report_date, 'YYYY-MM-DD'), revision"
    )


BATCH_UPSERT_SQL = batch_upsert_sql()


def batch_rows(rows: list[list[Any]]) -> str:
    """Rows of ``batch_values`` as BATCH_UPSERT_SQL's first parameter."""
    return json.dumps([dict(zip(BATCH_COLUMNS, row, strict=True)) for row in rows])


class DailyLimitReached(Exception):
    """The installation already sent the day's maximum; nothing was changed."""

    def __init__(self, report_date: date):
        super().__init__(report_date)
        self.report_date = report_date


@dataclass(frozen=True)
class IngestOutcome:
    report_date: date
    replaced: bool
    revision: int


def report_ingest(*, report: ParsedReport, policy: EnforcedPolicy) -> IngestOutcome:
    """Store one report as the installation's report of the current UTC day.

    A single INSERT .. ON CONFLICT makes concurrent reports of one installation
    leave exactly one row, the last committed one. The revision counter doubles
    as the per-installation daily limit: past it the statement changes nothing.
    On PostgreSQL the row goes in the process's next group commit (see
    ingest.services.group_commit); either way it is committed when this returns.
    """
    report_date = timezone.now().date()
    if group_commit.enabled():
        revision = group_commit.report_row_write(
            key=(report.platform_id, report_date),
            params=batch_values(report=report, report_date=report_date, policy=policy),
            statement=BATCH_UPSERT_SQL,
            encode=batch_rows,
        )
    else:
        revision = report_row_write(
            report_params(report=report, report_date=report_date, policy=policy)
        )
    if revision is None:
        raise DailyLimitReached(report_date)
    if report.discarded_fields:
        discarded_fields_count(report_date=report_date, names=report.discarded_fields)
        discarded_fields_record(len(report.discarded_fields))
    return IngestOutcome(report_date=report_date, replaced=revision > 1, revision=revision)


def report_params(*, report: ParsedReport, report_date: date, policy: EnforcedPolicy) -> list[Any]:
    """The row's values in UPSERT_SQL's column order (the daily limit not included)."""
    params: list[Any] = [report.platform_id, report_date, policy.version_id]
    for column in REPORT_COLUMNS:
        value = report.columns.get(column)
        params.append(json.dumps(value) if column in JSON_COLUMNS and value is not None else value)
    return params


def batch_values(*, report: ParsedReport, report_date: date, policy: EnforcedPolicy) -> list[Any]:
    """The row's values in BATCH_COLUMNS' order, as JSON holds them (dates as ISO text)."""
    values: list[Any] = [report.platform_id, report_date.isoformat(), policy.version_id]
    get = report.columns.get
    for column in REPORT_COLUMNS:
        value = get(column)
        values.append(value.isoformat() if isinstance(value, date) else value)
    return values


def report_row_write(params: list[Any]) -> int | None:
    """One statement, committed on its own (or with the caller's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(UPSERT_SQL, [*params, settings.INGEST_MAX_REPORTS_PER_INSTALLATION_PER_DAY])
        row = cursor.fetchone()
    return None if row is None else row[-1]


def installation_digest(platform_id: str) -> str:
    """A keyed digest that lets the audit log link erasures without the ID in clear."""
    key = hashlib.sha256(f"installation-audit:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, platform_id.encode(), hashlib.sha256).hexdigest()[:32]


def installation_erase(*, platform_id: str) -> int:
    """Delete every report of one installation (opt-out with erasure); audited.

    The exact rollups of the days it reported on are marked stale, and the hourly task
    rolls them up again; nothing is queued per call. Released public figures are not
    recomputed: they are noisy aggregates, released once (see ingest.services.releases).
    """
    reports = Report.objects.filter(platform_id=platform_id)
    with transaction.atomic():
        days = sorted(set(reports.values_list("report_date", flat=True)))
        deleted, _ = reports.delete()
        if deleted:
            audit_event_record(
                action="installation.erased",
                actor_label="installation (self-service opt-out)",
                target_type="installation",
                target_id=installation_digest(platform_id),
                before={"reports": deleted},
                after={"reports": 0},
            )
            rollups_mark_stale(days=days)
    return deleted


def reports_purge_expired(*, today: date | None = None, retention_days: int | None = None) -> int:
    """Delete reports older than the retention period; audited when anything went."""
    today = today or timezone.now().date()
    retention_days = retention_days or settings.REPORT_RETENTION_DAYS
    cutoff = today - timedelta(days=retention_days)
    with transaction.atomic():
        deleted, _ = Report.objects.filter(report_date__lt=cutoff).delete()
        DiscardedFieldCount.objects.filter(report_date__lt=cutoff).delete()
        rollups_delete_before(cutoff=cutoff)
        stats_releases_delete_before(cutoff=cutoff)
        if deleted:
            audit_event_record(
                action="reports.retention_purged",
                target_type="report",
                details={"before_date": cutoff.isoformat(), "reports": deleted},
            )
    return deleted
