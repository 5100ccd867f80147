"""The COPY writers against the reference: each row serialised by json.dumps / pyarrow.

On PostgreSQL an export is built from one COPY's lines by Arrow's kernels and ISA-L's
gzip; the plain-Python writers (the ones SQLite uses) serialise the data API's rows one
by one. On awkward values both must give the same file contents: the same text once
inflated for CSV and JSON Lines, the same table and footer for Parquet.
"""

import gzip
import io
import json
import zlib
from datetime import timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from access_requests import export_files
from access_requests.models import Export
from ingest.models import Report
from tests.access_requests.helpers import PERIOD, grant_for
from tests.ingest.factories import report_row
from tests.support import on_postgres, require_service

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ELEMENTS = (
    "platformID",
    "requestTime",
    "version",
    "installTime",
    "clusterCount",
    "appCount",
    "enableAddonList",
    "xDefinitionTopList",
    "browserInfo",
)
# Texts a CSV or JSON writer can get wrong; '' and None differ in CSV and JSON.
AWKWARD_TEXTS = [
    'say "hi"',
    "back\\slash",
    "a,b",
    "two\nlines",
    "cr\rhere",
    "crlf\r\nend",
    "tab\tinside",
    "ctl\x01\x1f\x7f",
    "naïve 日本語",
    "emoji 😀",
    "=1+2",
    "+1",
    "-1",
    "@SUM(A1)",
    "\tlead",
    "\rlead",
    "'quoted",
    "\\.",
    "\\N",  # COPY's text format writes NULL as these two characters
    "",
    None,
    '"',
    ",",
]
AWKWARD_LISTS = [
    [],
    None,
    ['a "quote"'],
    ["back\\slash", "x, y"],
    ["日本", "😀"],
    ["", "=cmd"],
    ["new\nline", "tab\t"],
    ['", "', "]"],
    ["plain", "names", "only"],
]
AWKWARD_MAPS = [
    {},
    None,
    {"fluxcd": 'v "q"'},
    {'k"ey': "enabled"},
    {"日本": "enabled", "😀": "disabled"},
    {"a": ""},
    {"": "x"},
    {"x": "a\\b", "y": "c,d"},
    {"k": '": "'},
    {"fluxcd": "enabled", "kruise": "disabled"},
]
BUCKETS = ["<10", "", None, "=1", "a,b", '"q"', "10-99"]


def _plain(platform_id: str, day) -> Report:
    return report_row(
        platform_id,
        day,
        addons={"fluxcd": "enabled", "terraform": "disabled"},
        component_definitions=["webservice", "worker"],
        trait_definitions=["scaler"],
        workflow_step_definitions=[],
        policy_definitions=["topology", "override"],
    )


def _awkward(platform_id: str, day, n: int) -> Report:
    def pick(values: list, step: int):
        return values[(n * step) % len(values)]

    return report_row(
        platform_id,
        day,
        release=pick(AWKWARD_TEXTS, 1),
        git_commit=pick(AWKWARD_TEXTS, 5),
        install_date=None if n % 4 == 0 else day - timedelta(days=n),
        cluster_count_bucket=pick(BUCKETS, 1),
        app_count_bucket=pick(BUCKETS, 3),
        addons=pick(AWKWARD_MAPS, 1),
        component_definitions=pick(AWKWARD_LISTS, 1),
        trait_definitions=pick(AWKWARD_LISTS, 2),
        workflow_step_definitions=pick(AWKWARD_LISTS, 4),
        policy_definitions=pick(AWKWARD_LISTS, 5),
        browser_family=pick(AWKWARD_TEXTS, 7)[:16] if pick(AWKWARD_TEXTS, 7) else None,
        browser_major_version=None if n % 3 == 0 else n,
        screen_width=None if n % 5 == 0 else 1000 + n,
    )


@pytest.fixture
def awkward_reports():
    """Plain days first (the writers' fast paths), then days of awkward values."""
    rows, n = [], 0
    for offset in range(20):
        day = PERIOD[0] + timedelta(days=offset)
        for installation in range(5):
            platform_id = f"install-{installation}_{offset % 3}"
            if offset < 4:
                rows.append(_plain(platform_id, day))
            else:
                rows.append(_awkward(platform_id, day, n))
                n += 1
    Report.objects.bulk_create(rows)
    return len(rows)


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 7 rows and row groups of 16: block and row-group edges fall mid-data."""
    monkeypatch.setattr(export_files, "BATCH_ROWS", 7)
    monkeypatch.setattr(export_files, "PARQUET_BATCH_ROWS", 7)
    monkeypatch.setattr(export_files, "ROW_GROUP_ROWS", 16)


def _export(applicant, maintainer, file_format: str) -> Export:
    grant = grant_for(applicant, maintainer, elements=ELEMENTS)
    return Export.objects.create(
        grant=grant,
        requested_by=applicant,
        format=file_format,
        period_start=PERIOD[0],
        period_end=PERIOD[1],
    )


def _built(export: Export, writer) -> tuple[bytes, int, list[int]]:
    target, progress = io.BytesIO(), []
    rows = writer(export, export_files.HashingFile(target), progress.append)
    return target.getvalue(), rows, progress


def _copy_writer(file_format: str):
    require_service("postgresql", on_postgres())
    return export_files.WRITERS[file_format]


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_copy_writers_inflate_to_the_reference_bytes(
    applicant, maintainer, awkward_reports, small_blocks, file_format
):
    copy_writer = _copy_writer(file_format)
    export = _export(applicant, maintainer, file_format)
    built, rows, progress = _built(export, copy_writer)
    reference, reference_rows, _ = _built(export, export_files.python_writers()[file_format])
    assert rows == reference_rows == awkward_reports
    assert progress[-1] == rows
    text = gzip.decompress(built)
    assert text == gzip.decompress(reference)
    assert text.count(b"\n") >= rows  # one line a row, and the newlines inside values
    # The awkward values did reach the file (as each format writes them).
    awkward_text = {
        "csv": [b'"say ""hi"""', b'"two\nlines"', b"'=1+2", "日本".encode(), b',"",'],
        "jsonl": [b'"say \\"hi\\""', b'"two\\nlines"', b'"=1+2"', b"\\u65e5\\u672c", b"\\u007f"],
    }[file_format]
    for fragment in awkward_text:
        assert fragment in text, fragment


def test_copy_writers_gzip_differs_from_zlib_but_is_one_standard_member(
    applicant, maintainer, awkward_reports
):
    copy_writer = _copy_writer("csv")
    export = _export(applicant, maintainer, "csv")
    built, _, _ = _built(export, copy_writer)
    inflater = zlib.decompressobj(wbits=31)  # a single gzip member, nothing after it
    text = inflater.decompress(built)
    assert inflater.eof and inflater.unused_data == b""
    assert built[:4] == b"\x1f\x8b\x08\x00" and built[4:8] == b"\0\0\0\0"  # no name, mtime 0
    assert text == gzip.decompress(built)


def test_parquet_from_copy_equals_the_reference_table_and_footer(
    applicant, maintainer, awkward_reports, small_blocks
):
    copy_writer = _copy_writer("parquet")
    export = _export(applicant, maintainer, "parquet")
    built, rows, progress = _built(export, copy_writer)
    reference, reference_rows, _ = _built(export, export_files.python_writers()["parquet"])
    assert rows == reference_rows == awkward_reports
    assert progress[-1] == rows
    table, expected = pq.read_table(io.BytesIO(built)), pq.read_table(io.BytesIO(reference))
    assert table.schema == expected.schema
    assert table.equals(expected)
    footer, expected_footer = (
        pq.read_metadata(io.BytesIO(built)),
        pq.read_metadata(io.BytesIO(reference)),
    )
    assert footer.metadata == expected_footer.metadata
    assert json.loads(footer.metadata[b"datasheet"])["rows"] == rows
    groups = [footer.row_group(n).num_rows for n in range(footer.num_row_groups)]
    assert groups == [
        expected_footer.row_group(n).num_rows for n in range(expected_footer.num_row_groups)
    ]
    assert len(groups) > 1  # blocks and row groups of the small sizes, not one of each
    addons = table.column("addons").to_pylist()
    assert [('k"ey', "enabled")] in addons and [] in addons and None in addons
    assert ['a "quote"'] in table.column("component_definitions").to_pylist()


def test_arrow_allocates_with_jemalloc():
    # Chosen by portal/celery.py before pyarrow's first import: a later choice leaves
    # mimalloc's pages in the worker (a Parquet build peaked ~20 MiB higher).
    assert pa.default_memory_pool().backend_name == "jemalloc"


@pytest.mark.parametrize("recent_max", [1, 2, 4096])
def test_pseudonyms_of_blocks_with_known_new_and_repeated_installations(
    applicant, maintainer, monkeypatch, recent_max
):
    """column() against grant_scope.pseudonym of each value, over blocks that mix
    installations met before, new ones, and one installation twice (two days); with the
    installations met sorted after every block, now and then, or never."""
    from access_requests import grant_scope

    monkeypatch.setattr(export_files, "RECENT_MAX", recent_max)
    grant = grant_for(applicant, maintainer, elements=ELEMENTS)
    pseudonyms = export_files._Pseudonyms(grant)
    blocks = [
        ["c", "a", "b"],
        ["b", "d", "a", "d"],  # known, new, known, the new one again
        ["e", "c", "f", "e", "b"],
        ["c", "b", "a"],  # nothing new
        ["0", "z", "a"],  # new ones before and after every sorted one
    ]
    for block in blocks:
        names = pseudonyms.column(pa.array(block, pa.string())).to_pylist()
        assert names == [grant_scope.pseudonym(grant, value) for value in block]
    known = pseudonyms.known_ids.to_pylist()
    assert known == sorted(known)
    assert sorted(known + pseudonyms.recent_ids.to_pylist()) == sorted("0abcdefz")
    assert (len(known) > 0) == (recent_max < 8)


def test_block_sizes_divide_the_row_groups():
    """Both paths gather whole blocks into row groups: with sizes that divide
    ROW_GROUP_ROWS, every row group holds exactly ROW_GROUP_ROWS rows."""
    assert export_files.ROW_GROUP_ROWS % export_files.BATCH_ROWS == 0
    assert export_files.ROW_GROUP_ROWS % export_files.PARQUET_BATCH_ROWS == 0


@pytest.mark.parametrize(
    "texts",
    [
        ['["a", 1]'],
        ['[1, "a"]'],
        ['["a", ["b"]]'],
        ['[["a"], "b"]'],
        ['["a", {"b": "c"}]'],
        ['["a", "b\\"c"]'],  # a backslash: never cut
        ['["a", "b"]', '["c", 2, "d"]'],  # one text of the block is not a list of names
    ],
)
def test_split_json_leaves_anything_but_a_list_of_names_to_python(texts):
    assert export_files._split_json(pa.array(texts, pa.string()), is_map=False) is None


@pytest.mark.parametrize(
    "texts",
    [
        ['{"k": 3, "k2": "v"}'],
        ['{"k": "v", "k2": 3}'],
        ['{"k": "v", "k2": ["a"]}'],
        ['{"k": {"a": "b"}}'],
        ['{"k": "v"}', '{"a": "b", "c": null}'],
    ],
)
def test_split_json_leaves_anything_but_a_map_of_names_to_python(texts):
    assert export_files._split_json(pa.array(texts, pa.string()), is_map=True) is None


def test_split_json_cuts_lists_and_maps_of_names_as_json_decodes_them():
    lists = ['["a", "b"]', "[]", None, '["x, y", "z: w"]', '["", "é"]']
    assert export_files._split_json(pa.array(lists), is_map=False).to_pylist() == [
        None if text is None else json.loads(text) for text in lists
    ]
    maps = ['{"k": "v", "a": "b"}', "{}", None, '{"x, y": "z: w", "": ""}']
    assert export_files._split_json(pa.array(maps), is_map=True).to_pylist() == [
        None if text is None else list(json.loads(text).items()) for text in maps
    ]


def test_parquet_row_groups_have_statistics_for_plain_columns_only(
    applicant, maintainer, awkward_reports, small_blocks
):
    """Both writers: min/max for the plain columns (a reader skips row groups by date),
    none for the lists and the map."""
    export = _export(applicant, maintainer, "parquet")
    for writer in (_copy_writer("parquet"), export_files.python_writers()["parquet"]):
        built, _, _ = _built(export, writer)
        footer = pq.read_metadata(io.BytesIO(built))
        group = footer.row_group(0)
        columns = {
            group.column(n).path_in_schema: group.column(n) for n in range(group.num_columns)
        }
        assert columns["date"].statistics.has_min_max
        assert str(columns["date"].statistics.min) == str(PERIOD[0])
        nested = [path for path in columns if path.split(".")[0] in export_files.JSON_FIELDS]
        plain = [path for path in columns if "." not in path]
        assert len(nested) == 6 and len(plain) == 10  # a map is two leaf columns
        assert all(columns[path].is_stats_set for path in plain)
        assert not any(columns[path].is_stats_set for path in nested)


def _text_block(lines: list[bytes]) -> export_files.TextBlock:
    text = b"".join(line + b"\n" for line in lines)
    return export_files.TextBlock(len(lines), bytearray(text))


def test_copy_text_without_escapes_is_read_by_arrow_alone(monkeypatch):
    """NULL is the field \\N, an empty field is "" (never NULL), and no block without
    an escape passes through Python."""

    def no_python(table):
        raise AssertionError("a block without escapes was unescaped")

    monkeypatch.setattr(export_files, "_unescaped", no_python)
    block = _text_block([b"a\t\\N\tN", b"\\N\t\tNx", b'{"k": "v"}\t[]\t\xc3\xa9'])
    table = export_files._read_block(block, ["one", "two", "three"])
    assert table.to_pylist() == [
        {"one": "a", "two": None, "three": "N"},
        {"one": None, "two": "", "three": "Nx"},
        {"one": '{"k": "v"}', "two": "[]", "three": "é"},
    ]


def test_copy_text_escapes_are_undone():
    r"""COPY writes a backslash of the data as \\ and these controls as \b \f \n \r \t
    \v; a text that is the two characters \N is not NULL."""
    block = _text_block(
        [
            b"\\\\N\t\\N\tback\\\\slash",
            b"two\\nlines\tcr\\rtab\\tend\t\\b\\f\\v",
            b'["a\\\\"b"]\tplain\t\\\\\\\\',
        ]
    )
    table = export_files._read_block(block, ["one", "two", "three"])
    assert table.to_pylist() == [
        {"one": "\\N", "two": None, "three": "back\\slash"},
        {"one": "two\nlines", "two": "cr\rtab\tend", "three": "\b\f\v"},
        {"one": '["a\\"b"]', "two": "plain", "three": "\\\\"},
    ]
