"""What-if writers: the app's three exports, changed as bench/export/README.md suggests.

Nothing in the portal uses this module. ``run.py --variant fast`` makes the build
worker use these writers for extra builds, to measure a change before making it in
``access_requests/export_files.py``; ``--verify`` checks that they write the same data
(the same CSV bytes, equal JSON objects, an equal Parquet table).

The changes:

- pseudonyms: one HMAC per installation in the period, computed by
  ``grant_scope.pseudonym`` (the data API's own function) into a temporary table, joined
  with a nested loop and Memoize so that the (report_date, id) index still gives
  the order, instead of two ``sha256()`` per row in SQL;
- CSV: the formula rule with ``ascii()`` instead of ``left()`` (and, like the app
  since 577d718, COPY's one-row chunks gathered into 1 MB blocks before gzip);
- JSON Lines: PostgreSQL writes each line (``json_build_object``) and COPY streams
  them like CSV, instead of decoding every jsonb value in Python and encoding the
  row again;
- Parquet: the same PostgreSQL-built lines, parsed by Arrow's JSON reader 8,192 at
  a time (addons as key/value pairs, dates as day numbers) into the app's 65,536-row
  row groups, with Arrow's system memory pool, instead of Python objects converted
  column by column.
"""

import gzip

import pyarrow as pa
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from access_requests import export_files, grant_scope

BLOCK_BYTES = 1 << 20
# As the app's Parquet row groups (before fa504f2 they were its fetch batches).
ROW_GROUP_ROWS = getattr(export_files, "ROW_GROUP_ROWS", export_files.BATCH_ROWS)
PARSE_ROWS = 8192
FORMULA_CODES = "61, 43, 45, 64, 9, 13"  # = + - @ TAB CR, as portal.csv_safety
# CSV quoting that never applies to a JSON text: COPY then writes each value as is.
RAW_LINES = "FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02'"
PSEUDONYMS = "bench_export_pseudonym"


def _pseudonyms(cursor, export) -> None:
    """A temporary table of the grant's pseudonym of every installation in the period."""
    cursor.execute(
        f"CREATE TEMPORARY TABLE {PSEUDONYMS} (platform_id text PRIMARY KEY, "
        "installation text NOT NULL) ON COMMIT DROP"
    )
    ids = cursor.execute(
        "SELECT DISTINCT platform_id FROM ingest_report WHERE report_date BETWEEN %s AND %s",
        [export.period_start, export.period_end],
    ).fetchall()
    with cursor.copy(f"COPY {PSEUDONYMS} FROM STDIN") as copy:
        for (platform_id,) in ids:
            copy.write_row((platform_id, grant_scope.pseudonym(export.grant, platform_id)))
    cursor.execute(f"ANALYZE {PSEUDONYMS}")
    # The planner would rather hash-join and sort everything again; a nested loop
    # with Memoize keeps the index order and looks each installation up once.
    cursor.execute("SET LOCAL enable_hashjoin = off")
    cursor.execute("SET LOCAL enable_mergejoin = off")


def _expression(name: str, kind: str) -> str:
    if name == "installation":
        return "p.installation"
    if name == "date":
        return "r.report_date"
    column = f"r.{name}"
    if kind == "csv" and name in export_files.TEXT_FIELDS:
        return (
            f"CASE WHEN ascii({column}) IN ({FORMULA_CODES}) THEN '''' || {column} "
            f"ELSE {column} END"
        )
    return column


def _select(export, kind: str) -> tuple[str, list[str]]:
    fields = grant_scope.granted_fields(export.grant)
    expressions = [_expression(name, kind) for name in fields]
    if kind == "csv":
        columns = ", ".join(
            f"{sql} AS {name}" for sql, name in zip(expressions, fields, strict=True)
        )
    else:
        if kind == "parquet":  # what Arrow's JSON reader can turn into the Parquet types
            days = {
                "date": "(r.report_date - DATE '1970-01-01')",
                "install_date": "(r.install_date - DATE '1970-01-01')",
                "addons": "jsonb_path_query_array(r.addons, '$.keyvalue()')",
            }
            expressions = [
                days.get(name, sql) for name, sql in zip(fields, expressions, strict=True)
            ]
        pairs = ", ".join(f"'{name}', {sql}" for name, sql in zip(fields, expressions, strict=True))
        columns = f"json_build_object({pairs})"
    join = (
        f" CROSS JOIN LATERAL (SELECT installation FROM {PSEUDONYMS} "  # noqa: S608
        "WHERE platform_id = r.platform_id) p"
        if "installation" in fields
        else ""
    )
    query = (
        f"SELECT {columns} FROM ingest_report r{join} "  # noqa: S608
        "WHERE r.report_date BETWEEN %s AND %s ORDER BY r.report_date, r.id"
    )
    return query, fields


def _copy(export, kind: str, options: str):
    """COPY the export's rows (one chunk per row, as libpq gives them) in a transaction."""
    query, _ = _select(export, kind)
    raw = export_files._raw_connection()
    try:
        with raw.transaction(), raw.cursor() as cursor:
            if "installation" in grant_scope.granted_fields(export.grant):
                _pseudonyms(cursor, export)
            with cursor.copy(
                f"COPY ({query}) TO STDOUT WITH ({options})",
                [export.period_start, export.period_end],
            ) as copy:
                yield from copy
    finally:
        raw.close()


def _blocks(chunks, limit: int = BLOCK_BYTES):
    buffer, size = [], 0
    for chunk in chunks:
        buffer.append(chunk)
        size += len(chunk)
        if size >= limit:
            yield b"".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield b"".join(buffer)


def _gzip_lines(export, out, progress, kind: str, options: str) -> int:
    lines = 0
    with gzip.GzipFile(
        fileobj=out, mode="wb", compresslevel=export_files.GZIP_LEVEL, mtime=0
    ) as zipped:
        for block in _blocks(_copy(export, kind, options)):
            zipped.write(block)
            lines += block.count(b"\n")
            progress(lines)
    return lines


def write_csv(export, out, progress) -> int:
    return _gzip_lines(export, out, progress, "csv", "FORMAT csv, HEADER true") - 1


def write_jsonl(export, out, progress) -> int:
    return _gzip_lines(export, out, progress, "jsonl", RAW_LINES)


def _json_schema(schema: pa.Schema) -> pa.Schema:
    pairs = pa.list_(pa.struct([("key", pa.string()), ("value", pa.string())]))
    return pa.schema([(f.name, pairs if pa.types.is_map(f.type) else f.type) for f in schema])


def _table(block: bytes, schema: pa.Schema, json_schema: pa.Schema) -> pa.Table:
    parsed = pa_json.read_json(
        pa.BufferReader(block),
        parse_options=pa_json.ParseOptions(
            explicit_schema=json_schema, unexpected_field_behavior="ignore"
        ),
    )
    arrays = []
    for field in schema:
        column = parsed.column(field.name).combine_chunks()
        if pa.types.is_map(field.type):
            column = pa.MapArray.from_arrays(
                column.offsets,
                column.values.field("key"),
                column.values.field("value"),
                type=field.type,
                mask=column.is_null(),
            )
        arrays.append(column)
    return pa.Table.from_arrays(arrays, schema=schema)


def write_parquet(export, out, progress) -> int:
    """Row groups of ROW_GROUP_ROWS, parsed PARSE_ROWS lines at a time (Arrow is compact)."""
    schema = export_files.parquet_schema(grant_scope.granted_fields(export.grant))
    json_schema = _json_schema(schema)
    rows = 0
    # Arrow's default pool (mimalloc here) keeps freed blocks for reuse; the system
    # allocator hands them back (the same as ARROW_DEFAULT_MEMORY_POOL=system).
    pa.set_memory_pool(pa.system_memory_pool())
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        lines: list[bytes] = []
        tables: list[pa.Table] = []
        pending = 0
        for chunk in _copy(export, "parquet", RAW_LINES):
            lines.append(chunk)
            if len(lines) == PARSE_ROWS or pending + len(lines) == ROW_GROUP_ROWS:
                tables.append(_table(b"".join(lines), schema, json_schema))
                pending += len(lines)
                lines = []
            if pending == ROW_GROUP_ROWS:
                writer.write_table(pa.concat_tables(tables), row_group_size=ROW_GROUP_ROWS)
                rows += pending
                tables, pending = [], 0
                progress(rows)
        if lines:
            tables.append(_table(b"".join(lines), schema, json_schema))
            pending += len(lines)
        if tables:
            writer.write_table(pa.concat_tables(tables), row_group_size=ROW_GROUP_ROWS)
            rows += pending
    return rows


WRITERS = {
    "csv fast": write_csv,
    "jsonl fast": write_jsonl,
    "parquet fast": write_parquet,
}
