"""Building export files: exactly the rows the data API gives the grant, streamed.

On PostgreSQL the database does the heavy lifting: CSV comes straight from
``COPY (SELECT ...) TO STDOUT``, with the per-grant pseudonym computed in SQL as
an HMAC-SHA256 built from the built-in ``sha256()``; JSON Lines and Parquet read
a server-side cursor in batches. Elsewhere (the SQLite development default) the
same rows come from ``access_requests.grant_scope``. Memory stays flat: nothing holds
more than one batch.
"""

import csv
import gzip
import hashlib
import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from django.db import connection
from psycopg.types.json import JsonbLoader

from access_requests import grant_scope
from access_requests.models import Export, Grant
from ingest.catalogue import REPORT_CATALOGUE, Catalogue
from ingest.models import Report
from portal.csv_safety import neutralise_cell, neutralise_sql

BATCH_ROWS = 8_192  # rows fetched as Python objects at a time (~3 KB each once decoded)
ROW_GROUP_ROWS = 65_536
COPY_BLOCK_BYTES = 1 << 20  # Parquet row groups gather several batches, held compactly in Arrow
GZIP_LEVEL = 3
JSON_FIELDS = REPORT_CATALOGUE.json_fields()
TEXT_FIELDS = REPORT_CATALOGUE.csv_neutralised_fields()
PYARROW_TYPES = {
    "string": pa.string(),
    "int32": pa.int32(),
    "date32": pa.date32(),
    "list<string>": pa.list_(pa.string()),
    "map<string, string>": pa.map_(pa.string(), pa.string()),
}


def parquet_types(catalogue: Catalogue) -> dict[str, pa.DataType]:
    return {name: PYARROW_TYPES[kind] for name, kind in catalogue.parquet_types().items()}


PARQUET_TYPES = parquet_types(REPORT_CATALOGUE)
EXTENSIONS = {"csv": "csv.gz", "jsonl": "jsonl.gz", "parquet": "parquet"}
Progress = Callable[[int], None]


class HashingFile(io.RawIOBase):
    """A write-only file that hashes and counts what passes through it."""

    def __init__(self, target):
        self.target = target
        self.sha256 = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, chunk) -> int:
        self.sha256.update(chunk)
        self.size += len(chunk)
        return self.target.write(chunk)


@dataclass
class Built:
    rows: int
    size: int
    sha256: str


# --- the SELECT the database runs ---------------------------------------------------------


def _select(grant: Grant, first: date, last: date, *, for_csv: bool) -> tuple[str, list]:
    """SELECT of the granted fields, in the data API's order, pseudonymised in SQL."""
    expressions = []
    for name in grant_scope.granted_fields(grant):
        if name == "installation":
            sql = grant_scope.PSEUDONYM_SQL
        elif name == "date":
            sql = "report_date"
        elif for_csv and name in TEXT_FIELDS:
            sql = neutralise_sql(name)
        else:
            sql = name
        expressions.append(f"{sql} AS {name}")
    query = (
        f"SELECT {', '.join(expressions)} FROM {Report._meta.db_table} "  # noqa: S608 - identifiers from the model and code  # nosec B608
        "WHERE report_date BETWEEN %s AND %s ORDER BY report_date, id"
    )
    pseudonymised = "installation" in grant_scope.granted_fields(grant)
    pads = list(grant_scope.hmac_pads(grant)) if pseudonymised else []
    return query, [*pads, first, last]


def count_rows(first: date, last: date) -> int:
    """The rows an export of the period holds: a grant narrows the fields, never the rows."""
    return Report.objects.filter(report_date__range=(first, last)).count()


# --- writers --------------------------------------------------------------------------------


def _python_rows(grant: Grant, first: date, last: date) -> Iterator[dict]:
    rows = grant_scope.grant_reports(grant=grant, first=first, last=last).iterator(chunk_size=5000)
    for _, fields in grant_scope.rows_as_dicts(grant, rows):
        yield fields


def _raw_connection():
    """A connection of its own, so progress can be saved while the export streams."""
    connection.ensure_connection()
    return connection.get_new_connection(connection.get_connection_params())


def write_csv(export: Export, out: HashingFile, progress: Progress) -> int:
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as zipped:
        if connection.vendor == "postgresql":
            return _copy_csv(export, zipped, progress)
        text = io.TextIOWrapper(zipped, encoding="utf-8", newline="")
        fields = grant_scope.granted_fields(export.grant)
        writer = csv.writer(text)
        writer.writerow(fields)
        rows = 0
        for row in _python_rows(export.grant, export.period_start, export.period_end):
            writer.writerow([_csv_cell(name, row[name]) for name in fields])
            rows += 1
            if rows % 10_000 == 0:
                progress(rows)
        text.flush()
        text.detach()
        return rows


def _csv_cell(name: str, value):
    if value is None:
        return ""
    if name in JSON_FIELDS:
        return json.dumps(value)
    return neutralise_cell(value) if name in TEXT_FIELDS else value


def _copy_csv(export: Export, zipped, progress: Progress) -> int:
    """COPY hands out one row per chunk: gather them into ~1 MB blocks before gzip."""
    query, params = _select(export.grant, export.period_start, export.period_end, for_csv=True)
    lines, block, size = -1, [], 0  # -1: the header line is not a row
    raw = _raw_connection()
    try:
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true)", params) as copy,
        ):
            for chunk in copy:
                block.append(chunk)
                size += len(chunk)
                if size >= COPY_BLOCK_BYTES:
                    lines += _write_block(zipped, block)
                    block, size = [], 0
                    progress(lines)
            lines += _write_block(zipped, block)
    finally:
        raw.close()
    return max(lines, 0)


def _write_block(zipped, block: list) -> int:
    joined = b"".join(block)
    zipped.write(joined)
    return joined.count(b"\n")


def _batches(export: Export) -> Iterator[tuple[list[str], list[tuple]]]:
    """Rows in batches, as (field names, tuples), from a server-side cursor."""
    grant = export.grant
    if connection.vendor != "postgresql":
        fields = grant_scope.granted_fields(grant)
        batch: list[tuple] = []
        for row in _python_rows(grant, export.period_start, export.period_end):
            batch.append(tuple(row[name] for name in fields))
            if len(batch) == BATCH_ROWS:
                yield fields, batch
                batch = []
        if batch:
            yield fields, batch
        return
    query, params = _select(grant, export.period_start, export.period_end, for_csv=False)
    raw = _raw_connection()
    # Django makes jsonb arrive as text (its JSONField decodes it); here we want objects.
    raw.adapters.register_loader("jsonb", JsonbLoader)
    try:
        with raw.transaction(), raw.cursor(name=f"export_{export.pk}") as cursor:
            cursor.itersize = BATCH_ROWS
            cursor.execute(query, params)
            fields = [column.name for column in cursor.description]
            while batch := cursor.fetchmany(BATCH_ROWS):
                yield fields, batch
    finally:
        raw.close()


def write_jsonl(export: Export, out: HashingFile, progress: Progress) -> int:
    rows = 0
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as zipped:
        for fields, batch in _batches(export):
            lines = [json.dumps(dict(zip(fields, row, strict=True)), default=str) for row in batch]
            zipped.write(("\n".join(lines) + "\n").encode())
            rows += len(batch)
            progress(rows)
    return rows


def parquet_schema(fields: list[str]) -> pa.Schema:
    return pa.schema([(name, PARQUET_TYPES[name]) for name in fields])


def write_parquet(export: Export, out: HashingFile, progress: Progress) -> int:
    fields = grant_scope.granted_fields(export.grant)
    schema = parquet_schema(fields)
    rows, pending, pending_rows = 0, [], 0
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        for names, batch in _batches(export):
            columns = list(zip(*batch, strict=True))
            arrays = [
                pa.array(_parquet_values(name, column), type=PARQUET_TYPES[name])
                for name, column in zip(names, columns, strict=True)
            ]
            pending.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
            pending_rows += len(batch)
            rows += len(batch)
            if pending_rows >= ROW_GROUP_ROWS:
                writer.write_table(
                    pa.Table.from_batches(pending, schema=schema), row_group_size=ROW_GROUP_ROWS
                )
                pending, pending_rows = [], 0
            progress(rows)
        if pending:
            writer.write_table(
                pa.Table.from_batches(pending, schema=schema), row_group_size=ROW_GROUP_ROWS
            )
        writer.add_key_value_metadata({"datasheet": _datasheet_in_file(export, rows)})
    return rows


def _datasheet_in_file(export: Export, rows: int) -> str:
    """The datasheet as Parquet's footer holds it: written last, so it knows the rows."""
    from access_requests.datasheets import export_datasheet  # which imports this module

    return json.dumps(export_datasheet(export, rows=rows, in_file=True), ensure_ascii=False)


def _parquet_values(name: str, column: tuple) -> list:
    if name == "addons":
        return [list(value.items()) if value is not None else None for value in column]
    return list(column)


WRITERS = {"csv": write_csv, "jsonl": write_jsonl, "parquet": write_parquet}


def build_file(export: Export, path: Path, progress: Progress) -> Built:
    """Write the export to ``path`` (a temporary name) and return what was written."""
    with path.open("wb") as target:
        out = HashingFile(target)
        rows = WRITERS[export.format](export, out, progress)
    return Built(rows=rows, size=out.size, sha256=out.sha256.hexdigest())


def throttled(callback: Callable[[int], None], seconds: float = 1.0) -> Progress:
    """Call ``callback`` at most once per ``seconds``: progress is a row update."""
    last = [0.0]

    def progress(rows: int) -> None:
        now = time.monotonic()
        if now - last[0] >= seconds:
            last[0] = now
            callback(rows)

    return progress
