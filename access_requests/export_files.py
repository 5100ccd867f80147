"""Building export files: exactly the rows the data API gives the grant, streamed.

On PostgreSQL the database does only what it does fastest: one plain ``COPY (SELECT
<the granted columns> ...) TO STDOUT WITH (FORMAT csv)``, read BATCH_ROWS lines at a
time. Everything else happens here without a Python object per value:

- CSV: COPY's own lines (formula cells neutralised in SQL), the platform ID that
  starts each line swapped for its pseudonym;
- JSON Lines: Arrow reads each block of lines into columns and writes the JSON with
  its string kernels, byte for byte what ``json.dumps`` writes for the row;
- Parquet: the same columns typed by Arrow's CSV reader, the JSON lists and maps
  parsed by its JSON reader.

Each pseudonym is computed once per installation, by ``grant_scope.pseudonym``, the
data API's own function. zlib, hashlib, file writes and Arrow's kernels release the
GIL, so each build runs as a pipeline of threads: while one block is converted and
compressed, COPY delivers the next, and the server and this process use both cores.

Elsewhere (the SQLite development default) the same rows come from
``access_requests.grant_scope`` as Python objects. Memory stays flat: nothing holds
more than a few blocks (or a Parquet row group).
"""

import csv
import gzip
import hashlib
import io
import json
import queue
import re
import select
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq
from django.db import connection
from psycopg import sql
from psycopg.pq import ExecStatus

from access_requests import grant_scope
from access_requests.models import Export, Grant
from ingest.catalogue import REPORT_CATALOGUE, Catalogue, ColumnKind
from ingest.models import Report
from portal.csv_safety import neutralise_cell, neutralise_sql

BATCH_ROWS = 8_192  # rows per block: lines read from COPY, or Python objects on SQLite
ROW_GROUP_ROWS = 65_536  # Parquet row groups gather several blocks, held compactly in Arrow
PIPELINE_DEPTH = 3  # blocks waiting between two threads of a build
GZIP_LEVEL = 3
JSON_FIELDS = REPORT_CATALOGUE.json_fields()
TEXT_FIELDS = REPORT_CATALOGUE.csv_neutralised_fields()
FIELD_COLUMNS = {column.output: column for column in REPORT_CATALOGUE.columns}
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


def count_rows(first: date, last: date) -> int:
    """The rows an export of the period holds: a grant narrows the fields, never the rows."""
    return Report.objects.filter(report_date__range=(first, last)).count()


# --- PostgreSQL: COPY's lines, in blocks ------------------------------------------------------


def _raw_connection():
    """A connection of its own, so progress can be saved while the export streams."""
    connection.ensure_connection()
    return connection.get_new_connection(connection.get_connection_params())


def _copy_statement(export: Export, *, neutralised: bool) -> sql.Composed:
    """COPY of the granted columns in the data API's order. The platform ID is read raw
    and turned into its pseudonym here; it is never written to a file."""
    columns = []
    for name in grant_scope.granted_fields(export.grant):
        column = FIELD_COLUMNS[name].name
        columns.append(neutralise_sql(column) if neutralised and name in TEXT_FIELDS else column)
    return sql.SQL(
        "COPY (SELECT {columns} FROM {table} WHERE report_date BETWEEN {first} AND {last} "
        "ORDER BY report_date, id) TO STDOUT WITH (FORMAT csv)"
    ).format(
        columns=sql.SQL(", ".join(columns)),  # names from the catalogue, never from input
        table=sql.Identifier(Report._meta.db_table),
        first=sql.Literal(export.period_start),
        last=sql.Literal(export.period_end),
    )


def _blocks(export: Export, *, neutralised: bool) -> Iterator[list[bytes]]:
    """The export's rows as COPY writes them, one CSV line each, BATCH_ROWS at a time."""
    raw = _raw_connection()
    try:
        raw.execute("SET DateStyle = ISO")  # dates as json.dumps and Arrow write them
        statement = _copy_statement(export, neutralised=neutralised).as_bytes(raw)
        raw.pgconn.send_query(statement)
        started = raw.pgconn.get_result()
        if started is None or started.status != ExecStatus.COPY_OUT:
            raise _copy_error(started)
        yield from _copy_out(raw.pgconn)
    finally:
        raw.close()


def _copy_out(pgconn) -> Iterator[list[bytes]]:
    """COPY's lines, read with libpq's non-blocking call.

    psycopg's Copy object costs a third more per line. libpq's blocking call would
    hold the GIL while the server works, and stall the threads that compress.
    """
    get, socket = pgconn.get_copy_data, pgconn.socket
    lines: list[bytes] = []
    while True:
        size, line = get(1)
        if size > 0:
            lines.append(bytes(line))
            if len(lines) == BATCH_ROWS:
                yield lines
                lines = []
        elif size == 0:  # nothing buffered yet: wait for the server, GIL released
            select.select([socket], [], [])
            pgconn.consume_input()
        else:
            break
    finished = pgconn.get_result()
    while pgconn.get_result() is not None:
        pass
    if finished is None or finished.status != ExecStatus.COMMAND_OK:
        raise _copy_error(finished)
    if lines:
        yield lines


def _copy_error(result) -> Exception:
    if result is None:
        return psycopg.OperationalError("COPY ended without a result")
    return psycopg.errors.error_from_result(result)


class _Pseudonyms:
    """grant_scope.pseudonym of each installation, computed the first time it is met."""

    def __init__(self, grant: Grant):
        self.grant = grant
        self.of_line: dict[bytes, bytes] = {}
        self.of_text: dict[str, str] = {}

    def line_start(self, platform_id: bytes) -> bytes:
        name = self.of_line[platform_id] = self.text(platform_id.decode()).encode()
        return name

    def text(self, platform_id: str) -> str:
        name = self.of_text.get(platform_id)
        if name is None:
            name = self.of_text[platform_id] = grant_scope.pseudonym(self.grant, platform_id)
        return name

    def column(self, platform_ids: pa.Array) -> pa.Array:
        distinct = pc.unique(platform_ids)
        names = pa.array([self.text(value) for value in distinct.to_pylist()], pa.string())
        return pc.take(names, pc.index_in(platform_ids, value_set=distinct))


# --- threads: one block converted or compressed while the next is read ------------------------

_END = object()


class _Stage:
    """``handle`` run on each item put, in a thread of its own, a few items behind."""

    def __init__(self, handle: Callable):
        self.handle = handle
        self.items: queue.Queue = queue.Queue(maxsize=PIPELINE_DEPTH)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="export-stage", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (item := self.items.get()) is not _END:
            if self.error is None:
                try:
                    self.handle(item)
                except BaseException as exc:  # raised again in the thread that puts
                    self.error = exc

    def put(self, item) -> None:
        if self.error is not None:
            raise self.error
        self.items.put(item)

    def finish(self) -> None:
        self.items.put(_END)
        self.thread.join()
        if self.error is not None:
            raise self.error


@contextmanager
def _stage(handle: Callable) -> Iterator[_Stage]:
    stage = _Stage(handle)
    try:
        yield stage
    except BaseException:
        stage.error = stage.error or RuntimeError("abandoned")  # the rest is discarded
        stage.items.put(_END)
        stage.thread.join()
        raise
    stage.finish()


@contextmanager
def _gzip_stage(out: HashingFile) -> Iterator[_Stage]:
    with (
        gzip.GzipFile(fileobj=out, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as zipped,
        _stage(zipped.write) as stage,
    ):
        yield stage


# --- Arrow: a block of COPY's lines as columns ------------------------------------------------


def _read_block(lines: list[bytes], fields: list[str], types: dict[str, pa.DataType]):
    """COPY's CSV as Arrow columns: NULL is the empty unquoted field, "" an empty text."""
    block = b"".join(lines)
    table = pa_csv.read_csv(
        pa.BufferReader(block),
        read_options=pa_csv.ReadOptions(
            column_names=fields, use_threads=False, block_size=len(block) + 1
        ),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types={name: types[name] for name in fields},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    if table.num_rows != len(lines):
        raise ValueError(f"COPY gave {len(lines)} lines, read as {table.num_rows} rows")
    return table


def _array(table: pa.Table, name: str) -> pa.Array:
    return table.column(name).combine_chunks()


# --- CSV ----------------------------------------------------------------------------------------


def write_csv(export: Export, out: HashingFile, progress: Progress) -> int:
    if connection.vendor == "postgresql":
        return _copy_csv(export, out, progress)
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as zipped:
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


def _copy_csv(export: Export, out: HashingFile, progress: Progress) -> int:
    """COPY's lines, each starting with its pseudonym instead of the platform ID.

    The installation is always the first field (granted_fields), and a platform ID is
    letters, digits, '-' and '_': it ends at the first comma and is never quoted.
    """
    fields = grant_scope.granted_fields(export.grant)
    if fields[0] != "installation":
        raise ValueError(f"the installation must be the first field: {fields}")
    pseudonyms = _Pseudonyms(export.grant)
    known, first_seen = pseudonyms.of_line, pseudonyms.line_start
    rows = 0
    with _gzip_stage(out) as zipped:
        zipped.put((",".join(fields) + "\n").encode())  # as COPY's HEADER writes it
        for lines in _blocks(export, neutralised=True):
            renamed = []
            for line in lines:
                cut = line.index(b",")
                platform_id = line[:cut]
                renamed.append((known.get(platform_id) or first_seen(platform_id)) + line[cut:])
            zipped.put(b"".join(renamed))
            rows += len(lines)
            progress(rows)
    return rows


# --- JSON Lines ---------------------------------------------------------------------------------

# What json.dumps writes for each control character, and for what lies outside ASCII.
CONTROL_ESCAPES = {chr(code): json.dumps(chr(code))[1:-1] for code in range(32)}
NOT_ASCII = re.compile("[\x7f-\U0010ffff]+")


def _jsonl_types(fields: list[str]) -> dict[str, pa.DataType]:
    return dict.fromkeys(fields, pa.string())


def _json_strings(values: pa.Array) -> pa.Array:
    """Text as a JSON string, escaped as json.dumps escapes it (but for non-ASCII)."""
    values = pc.replace_substring(values, "\\", "\\\\")
    values = pc.replace_substring(values, '"', '\\"')
    if pc.any(pc.match_substring_regex(values, r"[\x00-\x1f]")).as_py():
        for character, escaped in CONTROL_ESCAPES.items():
            values = pc.replace_substring(values, character, escaped)
    return pc.binary_join_element_wise('"', values, '"', "")


def _json_values(name: str, values: pa.Array, pseudonyms: _Pseudonyms) -> pa.Array:
    if name == "installation":
        return pc.binary_join_element_wise('"', pseudonyms.column(values), '"', "")
    kind = FIELD_COLUMNS[name].kind
    if kind in (ColumnKind.TEXT, ColumnKind.DATE):
        values = _json_strings(values)
    # jsonb's text is what json.dumps writes for the decoded value; integers as they are
    return pc.fill_null(values, "null")


def _json_lines(lines: list[bytes], fields: list[str], pseudonyms: _Pseudonyms) -> bytes:
    """A block of COPY's lines as JSON Lines, the same bytes as json.dumps of each row."""
    table = _read_block(lines, fields, _jsonl_types(fields))
    parts: list = []
    for position, name in enumerate(fields):
        parts.append(("{" if position == 0 else ", ") + json.dumps(name) + ": ")
        parts.append(_json_values(name, _array(table, name), pseudonyms))
    parts.append("}\n")
    written = pc.binary_join_element_wise(*parts, "")
    offsets = memoryview(written.buffers()[1]).cast("i")
    start, end = offsets[written.offset], offsets[written.offset + len(written)]
    text = bytes(memoryview(written.buffers()[2])[start:end])
    if text.isascii() and b"\x7f" not in text:
        return text
    return NOT_ASCII.sub(_escaped, text.decode()).encode()


def _escaped(found: re.Match) -> str:
    return json.dumps(found.group())[1:-1]


def write_jsonl(export: Export, out: HashingFile, progress: Progress) -> int:
    if connection.vendor == "postgresql":
        return _copy_jsonl(export, out, progress)
    rows = 0
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as zipped:
        for fields, batch in _batches(export):
            lines = [json.dumps(dict(zip(fields, row, strict=True)), default=str) for row in batch]
            zipped.write(("\n".join(lines) + "\n").encode())
            rows += len(batch)
            progress(rows)
    return rows


def _copy_jsonl(export: Export, out: HashingFile, progress: Progress) -> int:
    fields = grant_scope.granted_fields(export.grant)
    pseudonyms = _Pseudonyms(export.grant)
    rows = 0
    with (
        _gzip_stage(out) as zipped,
        _stage(lambda lines: zipped.put(_json_lines(lines, fields, pseudonyms))) as converted,
    ):
        for lines in _blocks(export, neutralised=False):
            converted.put(lines)
            rows += len(lines)
            progress(rows)
    return rows


# --- Parquet ------------------------------------------------------------------------------------

# A map's JSON object, {"k": "v", ...}, when no text in it holds a quote or a backslash:
# then every quote is a delimiter, and the object becomes [["k", "v"], ...] by replacing
# the delimiters, which Arrow's JSON reader parses (it has no map type).
PLAIN_MAP = r'^\{\}$|^\{"[^"\\]*": "[^"\\]*"(, "[^"\\]*": "[^"\\]*")*\}$'
PAIRS_TYPE = pa.list_(pa.list_(pa.string()))
MAP_FIELDS = frozenset(name for name, kind in PARQUET_TYPES.items() if pa.types.is_map(kind))


def _parquet_csv_types(fields: list[str]) -> dict[str, pa.DataType]:
    """What Arrow's CSV reader makes of each field: JSON stays text, parsed afterwards."""
    types = {name: PARQUET_TYPES[name] for name in fields}
    types.update({name: pa.string() for name in fields if name in JSON_FIELDS})
    types["installation"] = pa.string()  # the platform ID, until it is replaced
    return types


def _map_pairs(objects: pa.Array) -> pa.Array:
    """JSON objects of text values as JSON lists of [key, value] pairs."""
    plain = pc.match_substring_regex(objects, PLAIN_MAP)
    pairs = pc.replace_substring(objects, '", "', '"], ["')
    pairs = pc.replace_substring(pairs, '": "', '", "')
    pairs = pc.replace_substring_regex(pairs, r"^\{\}$", "[]")
    pairs = pc.replace_substring_regex(pairs, r"^\{", "[[")
    pairs = pc.replace_substring_regex(pairs, r"\}$", "]]")
    if pc.all(plain).as_py() is not False:  # null only where the map is NULL
        return pairs
    decoded = [  # a quote or a backslash in a key or a value: Python reads those few
        None if text is None else json.dumps([list(item) for item in json.loads(text).items()])
        for text in objects.to_pylist()
    ]
    return pc.if_else(plain, pairs, pa.array(decoded, pa.string()))


def _parsed_json(table: pa.Table, names: list[str]) -> dict[str, pa.Array]:
    """The JSON columns of a block, parsed by Arrow's JSON reader into their types."""
    if not names:
        return {}
    parts: list = []
    for position, name in enumerate(names):
        values = _array(table, name)
        if name in MAP_FIELDS:
            values = _map_pairs(values)
        parts += [("{" if position == 0 else ", ") + json.dumps(name) + ": "]
        parts += [pc.fill_null(values, "null")]
    parts.append("}\n")
    written = pc.binary_join_element_wise(*parts, "")
    document = written.buffers()[2]
    offsets = memoryview(written.buffers()[1]).cast("i")
    start, end = offsets[written.offset], offsets[written.offset + len(written)]
    schema = pa.schema(
        [(name, PAIRS_TYPE if name in MAP_FIELDS else PARQUET_TYPES[name]) for name in names]
    )
    parsed = pa_json.read_json(
        pa.BufferReader(document.slice(start, end - start)),
        read_options=pa_json.ReadOptions(use_threads=False, block_size=max(end - start, 1)),
        parse_options=pa_json.ParseOptions(explicit_schema=schema),
    )
    columns = {}
    for name in names:
        values = _array(parsed, name)
        if name in MAP_FIELDS:
            pairs = values.values
            values = pa.MapArray.from_arrays(
                values.offsets,
                pc.list_element(pairs, 0),
                pc.list_element(pairs, 1),
                type=PARQUET_TYPES[name],
                mask=values.is_null(),
            )
        columns[name] = values
    return columns


def _parquet_batch(
    lines: list[bytes], fields: list[str], schema: pa.Schema, pseudonyms: _Pseudonyms
) -> pa.RecordBatch:
    table = _read_block(lines, fields, _parquet_csv_types(fields))
    parsed = _parsed_json(table, [name for name in fields if name in JSON_FIELDS])
    arrays = []
    for name in fields:
        if name == "installation":
            arrays.append(pseudonyms.column(_array(table, name)))
        else:
            arrays.append(parsed[name] if name in parsed else _array(table, name))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


class _RowGroups:
    """Blocks gathered into row groups of ROW_GROUP_ROWS, as the writer has always cut them."""

    def __init__(self, writer: pq.ParquetWriter, schema: pa.Schema):
        self.writer, self.schema = writer, schema
        self.pending: list[pa.RecordBatch] = []
        self.rows = 0

    def add(self, batch: pa.RecordBatch) -> None:
        self.pending.append(batch)
        self.rows += batch.num_rows
        if self.rows >= ROW_GROUP_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            table = pa.Table.from_batches(self.pending, schema=self.schema)
            self.writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        self.pending, self.rows = [], 0


def parquet_schema(fields: list[str]) -> pa.Schema:
    return pa.schema([(name, PARQUET_TYPES[name]) for name in fields])


def write_parquet(export: Export, out: HashingFile, progress: Progress) -> int:
    fields = grant_scope.granted_fields(export.grant)
    schema = parquet_schema(fields)
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        groups = _RowGroups(writer, schema)
        if connection.vendor == "postgresql":
            rows = _copy_parquet(export, fields, groups, progress)
        else:
            rows = 0
            for names, batch in _batches(export):
                columns = list(zip(*batch, strict=True))
                arrays = [
                    pa.array(_parquet_values(name, column), type=PARQUET_TYPES[name])
                    for name, column in zip(names, columns, strict=True)
                ]
                groups.add(pa.RecordBatch.from_arrays(arrays, schema=schema))
                rows += len(batch)
                progress(rows)
        groups.flush()
        writer.add_key_value_metadata({"datasheet": _datasheet_in_file(export, rows)})
    return rows


def _copy_parquet(export: Export, fields: list[str], groups: _RowGroups, progress) -> int:
    pseudonyms = _Pseudonyms(export.grant)
    rows = 0
    with (
        _stage(groups.add) as written,
        _stage(
            lambda lines: written.put(_parquet_batch(lines, fields, groups.schema, pseudonyms))
        ) as converted,
    ):
        for lines in _blocks(export, neutralised=False):
            converted.put(lines)
            rows += len(lines)
            progress(rows)
    return rows


def _datasheet_in_file(export: Export, rows: int) -> str:
    """The datasheet as Parquet's footer holds it: written last, so it knows the rows."""
    from access_requests.datasheets import export_datasheet  # which imports this module

    return json.dumps(export_datasheet(export, rows=rows, in_file=True), ensure_ascii=False)


def _parquet_values(name: str, column: tuple) -> list:
    if name == "addons":
        return [list(value.items()) if value is not None else None for value in column]
    return list(column)


# --- SQLite: the data API's rows as Python objects ----------------------------------------------


def _python_rows(grant: Grant, first: date, last: date) -> Iterator[dict]:
    rows = grant_scope.grant_reports(grant=grant, first=first, last=last).iterator(chunk_size=5000)
    for _, fields in grant_scope.rows_as_dicts(grant, rows):
        yield fields


def _batches(export: Export) -> Iterator[tuple[list[str], list[tuple]]]:
    """Rows in batches, as (field names, tuples)."""
    fields = grant_scope.granted_fields(export.grant)
    batch: list[tuple] = []
    for row in _python_rows(export.grant, export.period_start, export.period_end):
        batch.append(tuple(row[name] for name in fields))
        if len(batch) == BATCH_ROWS:
            yield fields, batch
            batch = []
    if batch:
        yield fields, batch


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
