"""What a grant may read: its elements, its period, its pseudonyms. Nothing else.

Used by the data API and by exports, so both return exactly the same rows.
"""

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import QuerySet

from access_requests.models import Dataset, Grant
from ingest.catalogue import CATALOGUE, KEY_COLUMNS, REPORT_CATALOGUE, REQUIRED_KEYS
from ingest.dimensions import DIMENSIONS
from ingest.models import DailyRollup, Report

# Output field names of each element, in order.
ELEMENT_FIELDS = REPORT_CATALOGUE.element_fields()
PAGE_SIZE_MAX = 1000


class GrantScopeError(Exception):
    """A read outside what the grant allows; the message says what it allows."""


def pseudonym(grant: Grant, platform_id: str) -> str:
    """Stable within one grant, unrelated across grants: an HMAC under the grant's key."""
    return hmac.new(
        bytes.fromhex(grant.pseudonym_key), platform_id.encode(), hashlib.sha256
    ).hexdigest()[:32]


# The same HMAC-SHA256 as pseudonym(), computed by PostgreSQL's built-in sha256():
# HMAC(K, m) = H((K xor opad) || H((K xor ipad) || m)), with the pads as parameters.
PSEUDONYM_SQL = (
    "substr(encode(sha256(%s::bytea || sha256(%s::bytea || "
    "convert_to(platform_id, 'UTF8'))), 'hex'), 1, 32)"
)


def hmac_pads(grant: Grant) -> tuple[bytes, bytes]:
    key = bytes.fromhex(grant.pseudonym_key).ljust(64, b"\0")
    return bytes(b ^ 0x5C for b in key), bytes(b ^ 0x36 for b in key)


def granted_fields(grant: Grant) -> list[str]:
    """The fields of each row: its date and installation pseudonym always (the daily
    row's key: a row without them could be neither dated nor joined), then the fields
    of each granted element, in the catalogue's order."""
    return [
        name
        for key, names in ELEMENT_FIELDS.items()
        if key in REQUIRED_KEYS or key in grant.elements
        for name in names
    ]


def check_period(grant: Grant, first: date, last: date) -> None:
    if first > last:
        raise ValueError("'from' must not be after 'to'.")
    if first < grant.period_start or last > grant.period_end:
        raise GrantScopeError(
            f"Outside the grant's period: it allows {grant.period_start} to {grant.period_end}."
        )


def granted_columns(grant: Grant) -> list[str]:
    """The report columns a page or an export reads: the keyset, the platform ID (only
    ever turned into a pseudonym) and the columns of each granted element."""
    columns = ["id", *KEY_COLUMNS]
    for key in grant.elements:
        if key in REQUIRED_KEYS:
            continue
        columns += CATALOGUE[key].columns
    return columns


def grant_reports(**scope) -> QuerySet:
    """The grant's reports as value tuples of the columns its elements need."""
    return grant_reports_queryset(**scope).values_list(*granted_columns(scope["grant"]))


def grant_reports_queryset(
    *,
    grant: Grant,
    first: date,
    last: date,
    release: str | None = None,
    after: tuple[date, int] | None = None,
) -> QuerySet:
    """The grant's reports in [first, last], in (date, id) order, after a keyset position."""
    if Dataset.REPORTS not in grant.datasets:
        raise GrantScopeError("This grant does not include daily reports.")
    check_period(grant, first, last)
    reports = Report.objects.filter(report_date__range=(first, last))
    if release is not None:
        if "version" not in grant.elements:
            raise GrantScopeError(
                "Filtering by release needs the 'version' element, "
                f"which this grant does not include ({grant.elements})."
            )
        reports = reports.filter(release=release)
        first_day = (  # one index lookup, so the planner need not walk every date first
            Report.objects.filter(release=release, report_date__range=(first, last))
            .order_by("release", "report_date")
            .values_list("report_date", flat=True)
            .first()
        )
        if first_day is not None:
            reports = reports.filter(report_date__gte=first_day)
    if after is not None:
        reports = reports.extra(where=["(report_date, id) > (%s, %s)"], params=list(after))
    return reports.order_by("report_date", "id")


def row_json_sql(grant: Grant) -> tuple[str, list]:
    """A json_build_object of the granted fields (PostgreSQL), with its parameters."""
    parts, params = [], []
    for name in granted_fields(grant):
        if name == "installation":
            parts.append(f"'installation', {PSEUDONYM_SQL}")
            params += list(hmac_pads(grant))
        else:
            parts.append(f"'{name}', {'report_date' if name == 'date' else name}")
    return f"json_build_object({', '.join(parts)})::text", params


def grant_report_page_json(*, reports: QuerySet, grant: Grant, limit: int) -> list[tuple]:
    """(row as JSON text, date, id) for one page, serialised by PostgreSQL.

    Decoding the JSON columns into Python objects and encoding them again cost
    most of a page's time; the database writes the same fields in the same order.
    """
    sql, params = row_json_sql(grant)
    return list(
        reports.extra(select={"row_json": sql}, select_params=params).values_list(  # noqa: S610 - SQL from field names in code; values are bound parameters  # nosec B610
            "row_json", "report_date", "id"
        )[:limit]
    )


@dataclass(frozen=True)
class ReportPage:
    """One page of a grant's reports, each row already written as JSON text."""

    rows_json: list[str]
    next_position: tuple[date, int] | None  # where the next page starts; None: the last page


def grant_report_page(*, reports: QuerySet, grant: Grant, limit: int) -> ReportPage:
    """Up to ``limit`` rows of ``reports`` (from grant_reports_queryset), as JSON text.

    On PostgreSQL the database writes each row (grant_report_page_json). Elsewhere (the
    SQLite development default) Python writes the same fields in the same order.
    """
    if connection.vendor == "postgresql":
        rows = grant_report_page_json(reports=reports, grant=grant, limit=limit + 1)
    else:
        values = reports.values_list(*granted_columns(grant))[: limit + 1]
        rows = [
            (json.dumps(fields, cls=DjangoJSONEncoder), *position)
            for position, fields in rows_as_dicts(grant, values)
        ]
    more = len(rows) > limit
    rows = rows[:limit]
    return ReportPage(
        rows_json=[row_json for row_json, _, _ in rows],
        next_position=(rows[-1][1], rows[-1][2]) if more else None,
    )


def rows_as_dicts(grant: Grant, rows) -> Iterator[tuple[tuple[date, int], dict]]:
    """(keyset position, granted fields) for each row; the platform ID never leaves."""
    columns = granted_columns(grant)
    fields = granted_fields(grant)
    for row in rows:
        values = dict(zip(columns, row, strict=True))
        values["installation"] = pseudonym(grant, values["platform_id"])
        values["date"] = values["report_date"]
        yield (values["report_date"], values["id"]), {f: values[f] for f in fields}


def grant_rollups(*, grant: Grant, dimension: str, first: date, last: date) -> QuerySet:
    if Dataset.ROLLUPS not in grant.datasets:
        raise GrantScopeError("This grant does not include daily rollups.")
    spec = DIMENSIONS.get(dimension)
    if spec is None:
        raise LookupError(dimension)
    if spec.element not in grant.elements:
        raise GrantScopeError(
            f"The '{dimension}' rollup comes from the '{spec.element}' "
            f"element, which this grant does not include ({grant.elements})."
        )
    check_period(grant, first, last)
    return (
        DailyRollup.objects.filter(dimension=dimension, day__range=(first, last))
        .order_by("day", "value")
        .values_list("day", "value", "installations")
    )
