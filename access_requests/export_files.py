"""Building export files: exactly the rows the data API gives the grant, streamed.

On PostgreSQL the database does only what it does fastest: one plain ``COPY (SELECT
<the granted columns> ...) TO STDOUT``, read BATCH_ROWS lines at a time. Everything else
happens here without a Python object per value:

- CSV: COPY's own lines (``WITH (FORMAT csv)``, formula cells neutralised in SQL), the
  platform ID that starts each line swapped for its pseudonym;
- JSON Lines: COPY's text format (tab-separated, a backslash and N for NULL, escapes),
  which costs the server a sixth less than its CSV; Arrow reads each block of lines
  into columns and writes the JSON with its string kernels, byte for byte what
  ``json.dumps`` writes for the row;
- Parquet: the same columns typed by Arrow, the JSON lists and maps cut by its string
  kernels.

Each pseudonym is computed once per installation, by ``grant_scope.pseudonym``, the
data API's own function. zlib, hashlib, file writes and Arrow's kernels release the
GIL, so each build runs as a pipeline of threads: while one block is converted and
compressed, COPY delivers the next, and the server and this process use both cores.

Elsewhere (the SQLite development default) the same rows come from
``access_requests.grant_scope`` as Python objects. Memory stays flat: nothing holds
more than a few blocks (or a Parquet row group).
"""

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
from typing import NamedTuple

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from django.db import connection
from isal import igzip
from psycopg import sql
from psycopg.pq import ExecStatus

from access_requests import grant_scope
from access_requests.models import Export, Grant
from ingest.catalogue import REPORT_CATALOGUE, Catalogue, ColumnKind
from ingest.models import Report
from portal.csv_safety import neutralise_cell, neutralise_sql

BATCH_ROWS = 8_192  # rows per block: lines read from COPY, or Python objects on SQLite
ROW_GROUP_ROWS = 65_536  # Parquet row groups gather several blocks, held compactly in Arrow
RECENT_MAX = 4_096  # installations met since the sorted ones were last sorted
# Parquet's blocks are half as large: a 4M-row build peaks ~20 MiB lower (Arrow's CSV
# reader and kernels allocate per block), for ~10% more CPU. Both divide ROW_GROUP_ROWS,
# so the row groups are the same.
PARQUET_BATCH_ROWS = 4_096
PIPELINE_DEPTH = 3  # blocks waiting between two threads of a build
# Parquet's reader and converter hold one block each: a 4M-row build then peaks ~20 MiB
# lower, no slower (its row group already buffers 65,536 rows between the reader and the
# file). The writer's queue is deeper: while a row group is written (~65 ms), the blocks
# read meanwhile (~1.2 MB each as Arrow) wait there, and COPY is not held up.
PARQUET_PIPELINE_DEPTH = 1
PARQUET_WRITER_DEPTH = 8
GZIP_LEVEL = 2  # ISA-L's levels are 0-3; 2, its default, is about zlib's 1 in size
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
# Row-group statistics (min, max, nulls) for the plain columns only: a reader can skip row
# groups by date with them. A list's or map's min and max say little of its values, and
# computing them was about 15% of the writer's time.
PARQUET_STATISTICS = [name for name, kind in PARQUET_TYPES.items() if not pa.types.is_nested(kind)]
BACKSLASH = re.compile(rb"\\")
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
    """COPY of the granted columns in the data API's order: the CSV file's lines
    (neutralised), or else COPY's text format, for Arrow. The platform ID is read raw
    and turned into its pseudonym here; it is never written to a file."""
    columns = []
    for name in grant_scope.granted_fields(export.grant):
        column = FIELD_COLUMNS[name].name
        columns.append(neutralise_sql(column) if neutralised and name in TEXT_FIELDS else column)
    return sql.SQL(
        "COPY (SELECT {columns} FROM {table} WHERE report_date BETWEEN {first} AND {last} "
        "ORDER BY report_date, id) TO STDOUT{options}"
    ).format(
        options=sql.SQL(" WITH (FORMAT csv)" if neutralised else ""),
        columns=sql.SQL(", ".join(columns)),  # names from the catalogue, never from input
        table=sql.Identifier(Report._meta.db_table),
        first=sql.Literal(export.period_start),
        last=sql.Literal(export.period_end),
    )


class TextBlock(NamedTuple):
    """BATCH_ROWS of COPY's lines, back to back: what Arrow's CSV reader takes.

    Its text is a buffer that the reader fills again once ``done`` is called (by the
    last to read it): a build allocates a few buffers, not one per block, and leaves the
    allocator nothing to fragment.
    """

    rows: int
    text: bytearray
    free: queue.SimpleQueue | None = None
    capacity: int = 0  # the buffer's size before it was cut to the block's lines

    def done(self) -> None:
        if self.free is not None:
            self.free.put((self.text, self.capacity))


def _blocks(export: Export, *, neutralised: bool, rows: int | None = None) -> Iterator:
    """The export's rows as COPY writes them, ``rows`` (BATCH_ROWS) at a time: the
    neutralised ones (CSV) as a list of lines, the others as a TextBlock."""
    raw = _raw_connection()
    try:
        raw.execute("SET DateStyle = ISO")  # dates as json.dumps and Arrow write them
        statement = _copy_statement(export, neutralised=neutralised).as_bytes(raw)
        raw.pgconn.send_query(statement)
        started = raw.pgconn.get_result()
        if started is None or started.status != ExecStatus.COPY_OUT:
            raise _copy_error(started)
        if neutralised:
            yield from _copy_lines(raw.pgconn)
        else:
            yield from _copy_text(raw.pgconn, rows or BATCH_ROWS)
    finally:
        raw.close()


def _copy_lines(pgconn) -> Iterator[list[bytes]]:
    """COPY's lines, read with libpq's non-blocking call.

    psycopg's Copy object costs a third more per line. libpq's blocking call would
    hold the GIL while the server works, and stall the threads that compress.
    """
    lines: list[bytes] = []
    for line in _copy_data(pgconn):
        lines.append(bytes(line))
        if len(lines) == BATCH_ROWS:
            yield lines
            lines = []
    if lines:
        yield lines


def _copy_text(pgconn, block_rows: int) -> Iterator[TextBlock]:
    """COPY's lines written straight into one text per block (a copy less than lines),
    in buffers used again once their block is done."""
    free: queue.SimpleQueue = queue.SimpleQueue()
    text, rows, end = bytearray(), 0, 0
    view = memoryview(text)
    for line in _copy_data(pgconn):
        start, end = end, end + len(line)
        if end > len(text):  # grown by half at least: a buffer reaches its size in a few steps
            view.release()
            text += bytes(max(end - len(text), len(text) // 2, 1 << 16))
            view = memoryview(text)
        view[start:end] = line
        rows += 1
        if rows == block_rows:
            view.release()
            yield _text_block(rows, text, end, free)
            text, rows, end = _reused(free), 0, 0
            view = memoryview(text)
    view.release()
    if rows:
        yield _text_block(rows, text, end, free)


def _text_block(rows: int, text: bytearray, end: int, free: queue.SimpleQueue) -> TextBlock:
    """The block, its text cut to its lines. A bytearray cut by less than half keeps its
    memory (CPython's rule), so the buffer is whole again without a copy when reused."""
    capacity = len(text)
    del text[end:]
    return TextBlock(rows, text, free, capacity)


def _reused(free: queue.SimpleQueue) -> bytearray:
    """A buffer whose block is done, at its size again; a new one if none is."""
    try:
        text, capacity = free.get_nowait()
    except queue.Empty:
        return bytearray()
    text += bytes(capacity - len(text))
    return text


def _copy_data(pgconn) -> Iterator[memoryview]:
    get, socket = pgconn.get_copy_data, pgconn.socket
    while True:
        size, line = get(1)
        if size > 0:
            yield line
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
        self.known_ids = pa.array([], pa.string())  # for column(): the same, as Arrow
        self.known_names = pa.array([], pa.string())
        self.recent_ids = pa.array([], pa.string())
        self.recent_names = pa.array([], pa.string())

    def line_start(self, platform_id: bytes) -> bytes:
        name = self.of_line[platform_id] = self.text(platform_id.decode()).encode()
        return name

    def text(self, platform_id: str) -> str:
        name = self.of_text.get(platform_id)
        if name is None:
            name = self.of_text[platform_id] = grant_scope.pseudonym(self.grant, platform_id)
        return name

    def column(self, platform_ids: pa.Array) -> pa.Array:
        """A block's pseudonyms, looked up by Arrow: only the installations not met
        before (a few per block once the first day is read) pass through Python.

        The installations met are kept in two parts. The many (``known_ids``) are sorted
        and searched by binary search: a hash lookup (``pc.index_in``) hashes its whole
        value set on every call, 6 ms a block for the 66,000 installations of 4M rows
        against 2 ms. Those met since (``recent_ids``, at most RECENT_MAX) are hashed,
        and join the sorted ones when there are RECENT_MAX of them.
        """
        known = len(self.known_ids)
        if known:
            at = pc.min_element_wise(pc.search_sorted(self.known_ids, platform_ids), known - 1)
            found = pc.equal(self.known_ids.take(at), platform_ids)
            if _all(found):
                return self.known_names.take(at)
            names = pc.if_else(found, self.known_names.take(at), pa.scalar(None, pa.string()))
        else:
            found = pa.nulls(len(platform_ids), pa.bool_()).fill_null(False)
            names = pa.nulls(len(platform_ids), pa.string())
        missing = platform_ids.filter(pc.invert(found))
        unmet = pc.index_in(missing, value_set=self.recent_ids).is_null()
        if _any(unmet):
            new = pc.unique(missing.filter(unmet))
            new_names = pa.array(  # kept as Arrow only: no Python text per installation
                [grant_scope.pseudonym(self.grant, value) for value in new.to_pylist()],
                pa.string(),
            )
            self.recent_ids = pa.concat_arrays([self.recent_ids, new])
            self.recent_names = pa.concat_arrays([self.recent_names, new_names])
        recent = pc.index_in(platform_ids, value_set=self.recent_ids)
        names = pc.coalesce(names, self.recent_names.take(recent))
        if len(self.recent_ids) >= RECENT_MAX:
            self._merge()
        return names

    def _merge(self) -> None:
        ids = pa.concat_arrays([self.known_ids, self.recent_ids])
        order = pc.sort_indices(ids)
        self.known_ids = ids.take(order)
        self.known_names = pa.concat_arrays([self.known_names, self.recent_names]).take(order)
        self.recent_ids = self.recent_names = pa.array([], pa.string())


# --- threads: one block converted or compressed while the next is read ------------------------

_END = object()


class _Stage:
    """``handle`` run on each item put, in a thread of its own, a few items behind."""

    def __init__(self, handle: Callable, depth: int):
        self.handle = handle
        self.items: queue.Queue = queue.Queue(maxsize=depth)
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
def _stage(handle: Callable, depth: int = PIPELINE_DEPTH) -> Iterator[_Stage]:
    stage = _Stage(handle, depth)
    try:
        yield stage
    except BaseException:
        stage.error = stage.error or RuntimeError("abandoned")  # the rest is discarded
        stage.items.put(_END)
        stage.thread.join()
        raise
    stage.finish()


def _gzip_file(out: HashingFile) -> igzip.IGzipFile:
    """gzip by ISA-L's deflate: four times zlib's speed, so the file keeps up with COPY.

    Its compressed bytes differ from zlib's (the same text inflates from both); it
    releases the GIL while it compresses.
    """
    return igzip.IGzipFile(fileobj=out, mode="wb", compresslevel=GZIP_LEVEL, mtime=0)


@contextmanager
def _gzip_stage(out: HashingFile) -> Iterator[_Stage]:
    with _gzip_file(out) as zipped, _stage(zipped.write) as stage:
        yield stage


# --- Arrow: a block of COPY's lines as columns ------------------------------------------------


def _read_block(block: TextBlock, fields: list[str]) -> pa.Table:
    """COPY's text format as Arrow text columns. NULL is the field ``\\N``, "" an empty
    field; a tab, a newline and the other escaped characters are never raw, so a line
    is a row and Arrow splits it without quoting or escapes. A block that holds an
    escape (a backslash not of a NULL: rare) has those columns unescaped by Python.
    (The database's text is UTF-8 already: Arrow need not check it again.)"""
    table = pa_csv.read_csv(
        pa.BufferReader(block.text),
        read_options=pa_csv.ReadOptions(
            column_names=fields, use_threads=False, block_size=len(block.text) + 1
        ),
        parse_options=pa_csv.ParseOptions(
            delimiter="\t", quote_char=False, double_quote=False, escape_char=False
        ),
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(fields, pa.string()),
            null_values=["\\N"],
            strings_can_be_null=True,
            check_utf8=False,
        ),
    )
    if table.num_rows != block.rows:
        raise ValueError(f"COPY gave {block.rows} lines, read as {table.num_rows} rows")
    # Every backslash of COPY's text starts an escape or a NULL (a backslash of the data
    # is written as two): when each one is followed by N, none is an escape.
    if block.text.count(b"\\") != block.text.count(b"\\N"):
        table = _unescaped(table)
    return table


# COPY's text format writes a backslash as \\, and these control characters as a backslash
# and a letter; any other character as it is.
COPY_TEXT_ESCAPES = {"\\": "\\", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
COPY_TEXT_ESCAPE = re.compile(r"\\(.)", re.S)


def _unescaped(table: pa.Table) -> pa.Table:
    """The columns of a block that hold a backslash, their escapes undone."""
    for position, name in enumerate(table.column_names):
        values = _array(table, name)
        if _holds(values, BACKSLASH):
            text = [
                None if value is None else COPY_TEXT_ESCAPE.sub(_unescape, value)
                for value in values.to_pylist()
            ]
            table = table.set_column(position, name, pa.array(text, pa.string()))
    return table


def _unescape(found: re.Match) -> str:
    return COPY_TEXT_ESCAPES[found.group(1)]


def _array(table: pa.Table, name: str) -> pa.Array:
    # A copy, even of a single chunk: the CSV reader's buffers are larger than the
    # values, and a row group of them peaked 10-20 MiB higher (measured).
    return table.column(name).combine_chunks()


# --- CSV ----------------------------------------------------------------------------------------


def write_csv(export: Export, out: HashingFile, progress: Progress) -> int:
    if connection.vendor == "postgresql":
        return _copy_csv(export, out, progress)
    return _python_csv(export, out, progress)


def _python_csv(export: Export, out: HashingFile, progress: Progress) -> int:
    """The data API's rows, each line as COPY's CSV writes it on PostgreSQL."""
    fields = grant_scope.granted_fields(export.grant)
    rows = 0
    with _gzip_file(out) as zipped:
        zipped.write((",".join(fields) + "\n").encode())
        for row in _python_rows(export.grant, export.period_start, export.period_end):
            cells = [_copy_csv_field(_csv_cell(name, row[name])) for name in fields]
            zipped.write((",".join(cells) + "\n").encode())
            rows += 1
            if rows % 10_000 == 0:
                progress(rows)
    return rows


def _csv_cell(name: str, value):
    if value is None or name not in TEXT_FIELDS | JSON_FIELDS:
        return value
    if name in JSON_FIELDS:
        return json.dumps(value, ensure_ascii=False)  # jsonb's own text, as COPY writes it
    return neutralise_cell(value)


# COPY's CSV rule (csv.writer's differs: it leaves a lone CR unquoted and cannot quote an
# empty text): NULL is the empty field, so an empty text is quoted, as is any holding the
# delimiter, a quote, a CR or a LF.
COPY_QUOTED = re.compile('[,"\r\n]')


def _copy_csv_field(value) -> str:
    if value is None:
        return ""
    text = str(value)
    if text == "" or COPY_QUOTED.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


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
TO_ESCAPE = re.compile(rb'["\\\x00-\x1f]')
CONTROL = re.compile(rb"[\x00-\x1f]")


def _json_escaped(values: pa.Array) -> pa.Array:
    """Text escaped as json.dumps escapes it inside its quotes (but for non-ASCII)."""
    if _holds(values, TO_ESCAPE):
        values = pc.replace_substring(values, "\\", "\\\\")
        values = pc.replace_substring(values, '"', '\\"')
        if _holds(values, CONTROL):
            for character, escaped in CONTROL_ESCAPES.items():
                values = pc.replace_substring(values, character, escaped)
    return values


def _text(values: pa.Array) -> bytes:
    """Every text of a string column, back to back, copied out of its data buffer."""
    return bytes(_view(values))


def _view(values: pa.Array) -> memoryview:
    """Every text of a string column, back to back, in its data buffer (which the view
    keeps alive)."""
    _, offsets_buffer, data = values.buffers()
    if data is None:
        return memoryview(b"")
    offsets = memoryview(offsets_buffer).cast("i")
    start, end = offsets[values.offset], offsets[values.offset + len(values)]
    return memoryview(data)[start:end]


def _holds(values: pa.Array, pattern: re.Pattern) -> bool:
    """Whether any text of the column may match: one search of its data buffer, which
    holds every value back to back (a slice's neighbours too: they can only say yes)."""
    data = values.buffers()[2]
    return data is not None and pattern.search(memoryview(data)) is not None


def _json_values(name: str, values: pa.Array, pseudonyms: _Pseudonyms) -> tuple[pa.Array, bool]:
    """A column as JSON, and whether its quotes are still to be written around it (by
    the line's join: a column without NULL need not be joined on its own)."""
    if name == "installation":
        return pseudonyms.column(values), True
    kind = FIELD_COLUMNS[name].kind
    if kind in (ColumnKind.TEXT, ColumnKind.DATE):
        values = _json_escaped(values)
        if not values.null_count:
            return values, True
        values = pc.binary_join_element_wise('"', values, '"', "")
    # jsonb's text is what json.dumps writes for the decoded value; integers as they are
    return pc.fill_null(values, "null"), False


def _json_lines(block: TextBlock, fields: list[str], pseudonyms: _Pseudonyms) -> bytes | memoryview:
    """A block of COPY's lines as JSON Lines, the same bytes as json.dumps of each row."""
    table = _read_block(block, fields)
    parts: list = []
    after = ""  # what follows the previous value: its closing quote, if any
    for position, name in enumerate(fields):
        values, quoted = _json_values(name, _array(table, name), pseudonyms)
        start = after + ("{" if position == 0 else ", ") + json.dumps(name) + ": "
        parts += [start + '"' if quoted else start, values]
        after = '"' if quoted else ""
    parts.append(after + "}\n")
    joined = pc.binary_join_element_wise(*parts, "")
    ascii = block.text.isascii() and b"\x7f" not in block.text  # then so is every line
    block.done()
    if ascii:
        return _view(joined)  # Arrow's buffer as it is: no copy of the block's JSON
    return NOT_ASCII.sub(_escaped, _text(joined).decode()).encode()


def _escaped(found: re.Match) -> str:
    return json.dumps(found.group())[1:-1]


def write_jsonl(export: Export, out: HashingFile, progress: Progress) -> int:
    if connection.vendor == "postgresql":
        return _copy_jsonl(export, out, progress)
    return _python_jsonl(export, out, progress)


def _python_jsonl(export: Export, out: HashingFile, progress: Progress) -> int:
    rows = 0
    with _gzip_file(out) as zipped:
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
        _stage(lambda block: zipped.put(_json_lines(block, fields, pseudonyms))) as converted,
    ):
        for block in _blocks(export, neutralised=False):
            converted.put(block)
            rows += block.rows
            progress(rows)
    return rows


# --- Parquet ------------------------------------------------------------------------------------

MAP_FIELDS = frozenset(name for name, kind in PARQUET_TYPES.items() if pa.types.is_map(kind))
QUOTE = re.compile(rb'"')


def _parsed_json(table: pa.Table, names: list[str]) -> dict[str, pa.Array]:
    """The JSON columns of a block (jsonb's text) as Arrow lists and maps."""
    columns = {}
    for name in names:
        values = _array(table, name)
        split = _split_json(values, is_map=name in MAP_FIELDS)
        columns[name] = split if split is not None else _decoded_json(values, name)
    return columns


def _split_json(values: pa.Array, *, is_map: bool) -> pa.Array | None:
    """jsonb's text of lists of names, or of maps of name to name, cut by string kernels.

    Without a backslash in the column no text holds a quote (JSON would escape it),
    so every quote is a delimiter: ["a", "b"] is cut at '", "', {"k": "v"} at '", "'
    and then at '": "'. If anything else is met (a number, a nested value, a
    backslash), None: Python decodes that block's column.
    """
    if _holds(values, BACKSLASH):
        return None
    empty, opening, closing = ("{}", '{"', '"}') if is_map else ("[]", '["', '"]')
    filled = pc.if_else(pc.equal(values, empty), pa.scalar(None, pa.string()), values)
    if not (_all(pc.starts_with(filled, opening)) and _all(pc.ends_with(filled, closing))):
        return None
    items = pc.split_pattern(pc.utf8_slice_codeunits(filled, 2, -2), '", "')
    pieces = items.values
    if is_map:
        pairs = pc.split_pattern(pieces, '": "', max_splits=1)
        if not _all(pc.equal(pc.list_value_length(pairs), 2)):
            return None
        keys, names = pc.list_element(pairs, 0), pc.list_element(pairs, 1)
        pieces = pairs.values
    # The text is the opening, the pieces, the delimiters and the closing, nothing else:
    # with no quote in any piece, every quote of it is one of those.
    if _holds(pieces, QUOTE):
        return None
    mask = values.is_null()
    if not is_map:
        return pa.ListArray.from_arrays(items.offsets, pieces, mask=mask)
    return pa.MapArray.from_arrays(
        items.offsets,
        keys,
        names,
        type=pa.map_(pa.string(), pa.string()),
        mask=mask,
    )


def _all(flags: pa.Array) -> bool:
    return pc.all(flags).as_py() is not False  # null (no value) counts as true


def _any(flags: pa.Array) -> bool:
    return pc.any(flags).as_py() is True


def _decoded_json(values: pa.Array, name: str) -> pa.Array:
    """The rare column with escaped text (or not the expected shape): decoded by Python."""
    decoded = [None if text is None else json.loads(text) for text in values.to_pylist()]
    return pa.array(_parquet_values(name, tuple(decoded)), type=PARQUET_TYPES[name])


def _parquet_batch(
    block: TextBlock, fields: list[str], schema: pa.Schema, pseudonyms: _Pseudonyms
) -> pa.RecordBatch:
    # Every field read as text: Arrow's CSV reader parses a date column at a tenth of
    # the speed of a cast of the same text afterwards.
    table = _read_block(block, fields)
    block.done()
    parsed = _parsed_json(table, [name for name in fields if name in JSON_FIELDS])
    arrays = []
    for name in fields:
        if name == "installation":
            arrays.append(pseudonyms.column(_array(table, name)))
        elif name in parsed:
            arrays.append(parsed[name])
        else:
            arrays.append(_array(table, name).cast(PARQUET_TYPES[name]))
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
    if connection.vendor == "postgresql":
        return _parquet_file(export, out, progress, _copy_parquet)
    return _parquet_file(export, out, progress, _python_parquet)


def _parquet_file(export: Export, out: HashingFile, progress: Progress, rows_into) -> int:
    fields = grant_scope.granted_fields(export.grant)
    schema = parquet_schema(fields)
    statistics = [name for name in fields if name in PARQUET_STATISTICS]
    with pq.ParquetWriter(out, schema, compression="zstd", write_statistics=statistics) as writer:
        groups = _RowGroups(writer, schema)
        rows = rows_into(export, fields, groups, progress)
        groups.flush()
        writer.add_key_value_metadata({"datasheet": _datasheet_in_file(export, rows)})
    return rows


def _python_parquet(export: Export, fields: list[str], groups: _RowGroups, progress) -> int:
    rows = 0
    for names, batch in _batches(export):
        columns = list(zip(*batch, strict=True))
        arrays = [
            pa.array(_parquet_values(name, column), type=PARQUET_TYPES[name])
            for name, column in zip(names, columns, strict=True)
        ]
        groups.add(pa.RecordBatch.from_arrays(arrays, schema=groups.schema))
        rows += len(batch)
        progress(rows)
    return rows


def _copy_parquet(export: Export, fields: list[str], groups: _RowGroups, progress) -> int:
    pseudonyms = _Pseudonyms(export.grant)
    rows = 0
    with (
        _stage(groups.add, PARQUET_WRITER_DEPTH) as written,
        _stage(
            lambda block: written.put(_parquet_batch(block, fields, groups.schema, pseudonyms)),
            PARQUET_PIPELINE_DEPTH,
        ) as converted,
    ):
        for block in _blocks(export, neutralised=False, rows=PARQUET_BATCH_ROWS):
            converted.put(block)
            rows += block.rows
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


def python_writers() -> dict[str, Callable[[Export, HashingFile, Progress], int]]:
    """The writers that serialise the data API's rows one by one (any database): the
    reference the COPY writers are tested against."""

    def parquet(export: Export, out: HashingFile, progress: Progress) -> int:
        return _parquet_file(export, out, progress, _python_parquet)

    return {"csv": _python_csv, "jsonl": _python_jsonl, "parquet": parquet}


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
