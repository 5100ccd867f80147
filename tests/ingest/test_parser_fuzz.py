"""Property tests of the receiver's parsing: any body is accepted or refused, never a crash.

Bodies are arbitrary bytes, arbitrary JSON values, and mutations of the real VelaUX
payloads (wrong types, huge numbers, NaN and Infinity, deep nesting, unicode, extra
fields). The parser may only succeed or raise ReportRejected with a 4xx status; through
the HTTP endpoint no body gets a 5xx, every refusal is the JSON error body, and a
refused body changes nothing in the database. Examples are derandomised so CI runs
the same cases every time; each crash found is kept below as a plain regression test.
"""

import json
from datetime import date, datetime, timedelta

import pytest
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.catalogue import CATALOGUE
from ingest.models import Report
from ingest.parsing import (
    GO_ZERO_TIME,
    MAX_NAME_LENGTH,
    ParsedReport,
    ReportRejected,
    check_key,
    check_name,
    check_names,
    check_size,
    decode_body,
    parse_report,
)
from tests.ingest.helpers import database_state
from tests.support import velaux_fixture_paths

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow],
)
THROUGH_HTTP = settings(FUZZ, max_examples=120)

PAYLOADS = [json.loads(path.read_text()) for path in velaux_fixture_paths()]
ALL_ELEMENTS = frozenset(CATALOGUE)
BROWSER_FIELDS = ["nameAndVersion", "screenWidth", "language", "screenHeight"]
TOP_FIELDS = sorted({key for payload in PAYLOADS for key in payload})
DEEP = '"__deep_nesting__"'
DISCARDED_NAME_COLUMN = 120  # DiscardedFieldCount.field_name

# --- strategies --------------------------------------------------------------------------

# Any code point, with the awkward ones often: controls, unpaired surrogates (JSON's
# "\ud800" escape decodes to one), line separators, a byte-order mark, astral characters.
characters = st.characters(exclude_categories=()) | st.sampled_from(
    ["\x00", "\x1f", "\x7f", "\x85", "\ud800", "\udfff", "\u2028", "\ufeff", "\U0001f600"]
)


def strings(max_size: int) -> st.SearchStrategy[str]:
    return st.lists(characters, max_size=max_size).map("".join)  # st.text drops surrogates


any_text = strings(30)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | any_text
    | st.sampled_from(["", "NaN", "enabled", "<10", ">=500", "chrome124.0.0.0", "v1.9.4"])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(any_text, children, max_size=6)
    ),
    max_leaves=25,
)
field_names = strings(MAX_NAME_LENGTH + 5)
# Raw JSON texts json.dumps cannot produce from a value: nesting past any stack,
# numbers past Python's integer-string limit, and exponents past float range.
raw_values = st.one_of(
    st.integers(min_value=1, max_value=5_000).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(min_value=1, max_value=3_000).map(
        lambda depth: '{"a":' * depth + "1" + "}" * depth
    ),
    st.integers(min_value=1, max_value=6_000).map(lambda digits: "9" * digits),
    st.sampled_from(["1e999", "-1e999", "1e-999", "NaN", "-Infinity", '"\\ud800"', '"\\u0000"']),
)
# Moments within a day or two of the edges of what a datetime can hold.
edge_moments = st.one_of(
    st.integers(0, 2 * 86_400).map(lambda seconds: datetime.min + timedelta(seconds=seconds)),
    st.integers(0, 2 * 86_400).map(lambda seconds: datetime.max - timedelta(seconds=seconds)),
)


@st.composite
def timestamps(draw) -> str:
    """RFC 3339-shaped text: any real moment, or out-of-range parts, with any offset."""
    if draw(st.booleans()):
        moment = draw(st.datetimes() | edge_moments)
        parts = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    else:
        parts = tuple(draw(st.integers(0, top)) for top in (9999, 13, 32, 25, 61, 61))
    fraction = draw(st.just("") | st.from_regex(r"\.[0-9]{1,12}", fullmatch=True))
    offset = draw(
        st.sampled_from(["Z", "z", "", "+00:00", "-00:00"])
        | st.tuples(st.sampled_from("+-"), st.integers(0, 99), st.integers(0, 99)).map(
            lambda sign_hours_minutes: "{}{:02d}:{:02d}".format(*sign_hours_minutes)
        )
    )
    separator = draw(st.sampled_from("Tt "))
    year, month, day, hour, minute, second = parts
    return (
        f"{year:04d}-{month:02d}-{day:02d}{separator}{hour:02d}:{minute:02d}:{second:02d}"
        f"{fraction}{offset}"
    )


values = json_values | timestamps()


@st.composite
def mutated_payloads(draw) -> bytes:
    """A real VelaUX payload with extra fields added and a few fields retyped or removed."""
    document = json.loads(json.dumps(draw(st.sampled_from(PAYLOADS))))
    info = document.setdefault("browserInfo", {})
    for where, name, value in draw(
        st.lists(st.tuples(st.booleans(), field_names, values), min_size=1, max_size=3)
    ):
        (document if where else info)[name] = value
    raw = None
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        where = draw(st.sampled_from(["retype", "browserInfo", "addons", "definitions", "delete"]))
        if where == "delete":
            if document:
                document.pop(draw(st.sampled_from(sorted(document))))
            continue
        value = draw(values)
        if raw is None and draw(st.booleans()):
            raw, value = draw(raw_values), DEEP[1:-1]
        if where == "retype":
            document[draw(st.sampled_from(TOP_FIELDS))] = value
        elif where == "browserInfo":
            info = document.get("browserInfo")
            info = info if isinstance(info, dict) else {}
            info[draw(st.sampled_from(BROWSER_FIELDS))] = value
            document["browserInfo"] = info
        elif where == "addons":
            addons = document.get("enableAddonList")
            addons = addons if isinstance(addons, dict) else {}
            addons[draw(st.just("fluxcd") | any_text)] = value
            document["enableAddonList"] = addons
        else:
            kind = draw(st.sampled_from(["componentDefinitionTopList", "traitDefinitionTopList"]))
            document[kind] = [value, *(document.get(kind) or [])][:60]
    text = json.dumps(document, ensure_ascii=draw(st.booleans()))
    if raw is not None:
        text = text.replace(DEEP, raw, 1)
    return text.encode("utf-8", "surrogatepass")


@st.composite
def damaged_bytes(draw) -> bytes:
    """A real payload's bytes with a slice replaced by arbitrary bytes."""
    body = json.dumps(draw(st.sampled_from(PAYLOADS))).encode()
    start = draw(st.integers(min_value=0, max_value=len(body)))
    end = draw(st.integers(min_value=start, max_value=min(len(body), start + 8)))
    return body[:start] + draw(st.binary(max_size=8)) + body[end:]


def with_install_time(install_time: str) -> bytes:
    return json.dumps(dict(PAYLOADS[0], installTime=install_time)).encode()


arbitrary_json = json_values.map(lambda value: json.dumps(value).encode())
bodies = st.one_of(
    st.binary(max_size=300),
    arbitrary_json,
    damaged_bytes(),
    mutated_payloads(),
    timestamps().map(with_install_time),
)
approved_sets = st.just(ALL_ELEMENTS) | st.sets(st.sampled_from(sorted(ALL_ELEMENTS))).map(
    frozenset
)

# --- (1) the parser alone -----------------------------------------------------------------


def parse(body: bytes, approved: frozenset[str]) -> ParsedReport | ReportRejected:
    """decode_body + parse_report; a refusal is returned, any other exception escapes."""
    try:
        return parse_report(decode_body(body), approved)
    except ReportRejected as rejected:
        return rejected


def assert_storable(report: ParsedReport) -> None:
    """What the receiver writes fits the columns and encodes as UTF-8 text."""
    assert 1 <= len(report.platform_id) <= 64
    for name in report.discarded_fields:
        assert len(name) <= DISCARDED_NAME_COLUMN, name
        assert "\x00" not in name
        name.encode("utf-8")  # no unpaired surrogate


def assert_refusal(rejected: ReportRejected) -> None:
    assert 400 <= rejected.status < 500
    body = rejected.as_json()
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["message"], str) and body["message"]
    json.dumps(body)


@pytest.mark.slow
@FUZZ
@given(body=bodies, approved=approved_sets)
def test_the_parser_accepts_or_refuses_any_body(body, approved):
    outcome = parse(body, approved)
    if isinstance(outcome, ReportRejected):
        assert_refusal(outcome)
    else:
        assert_storable(outcome)


@pytest.mark.slow
@FUZZ
@given(body=mutated_payloads())
def test_the_parser_accepts_or_refuses_any_mutated_velaux_payload(body):
    outcome = parse(body, ALL_ELEMENTS)
    if isinstance(outcome, ReportRejected):
        assert_refusal(outcome)
    else:
        assert_storable(outcome)


@pytest.mark.slow
@FUZZ
@given(install_time=timestamps())
def test_the_parser_accepts_or_refuses_any_install_time(install_time):
    outcome = parse(with_install_time(install_time), ALL_ELEMENTS)
    if isinstance(outcome, ReportRejected):
        assert_refusal(outcome)
        assert outcome.field_name == "installTime"
    elif GO_ZERO_TIME.fullmatch(install_time):  # Go's zero time: the install time is unknown
        assert outcome.columns["install_date"] is None
    else:
        assert outcome.columns["install_date"].year in range(1, 10_000)


# --- (2) the same bodies through the endpoint ----------------------------------------------


def post(client: Client, body: bytes):
    return client.post("/collecting", body, content_type="application/json")


# Outside a wrapping transaction, as in production: every statement autocommits, and a
# statement the database refuses cannot hide behind an aborted test transaction.
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@THROUGH_HTTP
@given(body=bodies)
def test_the_endpoint_never_answers_5xx_and_a_refusal_changes_nothing(body):
    client = Client()
    with override_settings(INGEST_MAX_REPORTS_PER_INSTALLATION_PER_DAY=1_000_000):
        before = database_state()
        response = post(client, body)
        assert response.status_code < 500, response.content
        answer = json.loads(response.content)
        if response.status_code == 202:
            assert answer["status"] == "accepted"
            assert Report.objects.filter(platform_id=json.loads(body)["platformID"]).exists()
            return
        assert 400 <= response.status_code < 500
        assert isinstance(answer["error"], str) and isinstance(answer["message"], str)
        assert database_state() == before


# --- crashes the properties found, kept as plain tests --------------------------------------


def velaux(**changes) -> dict:
    return {**PAYLOADS[0], **changes}


REGRESSIONS = {
    # TypeError: a list is not hashable, so "in ADDON_STATUSES" raised
    "addon status of an unhashable type": (
        velaux(enableAddonList={"fluxcd": []}),
        "enableAddonList",
    ),
    # OverflowError converting to UTC
    "install time before year 1 in UTC": (
        velaux(installTime="0001-01-01T00:00:00+00:01"),
        "installTime",
    ),
    "install time after year 9999 in UTC": (
        velaux(installTime="9999-12-31T23:59:59-00:01"),
        "installTime",
    ),
    # The names of discarded fields are stored: PostgreSQL refuses NUL, and UTF-8 cannot
    # encode an unpaired surrogate (a 500 after the report's row was committed).
    "NUL in a discarded field name": (velaux(**{"a\x00": 1}), "(body)"),
    "unpaired surrogate in a discarded field name": (velaux(**{"a\ud800": 1}), "(body)"),
    "unpaired surrogate in a discarded browserInfo name": (
        velaux(browserInfo={"nameAndVersion": "chrome124", "\udfff": 1}),
        "browserInfo",
    ),
}
CASES = pytest.mark.parametrize(("document", "field"), REGRESSIONS.values(), ids=REGRESSIONS.keys())
# RecursionError in json.loads
DEEPLY_NESTED = b'{"platformID": "deep", "extra": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"


def encoded(document: dict) -> bytes:
    return json.dumps(document).encode()


@CASES
def test_each_crash_found_is_now_a_400_naming_the_field(document, field):
    outcome = parse(encoded(document), ALL_ELEMENTS)
    assert isinstance(outcome, ReportRejected)
    assert (outcome.status, outcome.code, outcome.field_name) == (400, "invalid_field", field)


def test_nesting_deeper_than_the_stack_is_a_400():
    outcome = parse(DEEPLY_NESTED, ALL_ELEMENTS)
    assert isinstance(outcome, ReportRejected)
    assert (outcome.status, outcome.code) == (400, "malformed_json")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("body", "code"),
    [
        *((encoded(document), "invalid_field") for document, _ in REGRESSIONS.values()),
        (DEEPLY_NESTED, "malformed_json"),
    ],
    ids=[*REGRESSIONS, "nesting deeper than the stack"],
)
def test_each_crash_found_is_refused_by_the_endpoint_and_stores_nothing(client, body, code):
    response = post(client, body)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == code
    assert not Report.objects.exists()


def test_the_payload_the_regressions_start_from_is_accepted():
    report = parse(encoded(velaux()), ALL_ELEMENTS)
    assert isinstance(report, ParsedReport)
    assert report.columns["install_date"] == date(2025, 3, 14)


# --- the hot path's one-pass checks equal the per-name checks they stand for ---------------

NAME_ISH = st.one_of(
    st.text(alphabet="ab9._/@-\n \x00\x85é", max_size=6),
    st.text(alphabet="a", min_size=MAX_NAME_LENGTH - 1, max_size=MAX_NAME_LENGTH + 1),
    st.sampled_from(["webservice", "k8s-objects", "-x", "", "ok\n", "\nok"]),
)


def _outcome(check, *args):
    try:
        return ("ok", check(*args))
    except ReportRejected as rejected:
        return ("refused", rejected.message)


@FUZZ
@given(st.lists(st.one_of(NAME_ISH, st.integers(), st.none()), max_size=5))
def test_check_names_is_check_name_of_each(names):
    def one_by_one(field_name, values):
        return [check_name(field_name, value) for value in values]

    assert _outcome(check_names, "f", names) == _outcome(one_by_one, "f", names)


@FUZZ
@given(st.dictionaries(NAME_ISH, st.none(), max_size=5))
def test_check_size_of_a_dict_is_check_key_of_each_key(value):
    def one_by_one(field_name, keys):
        for name in keys:
            check_key(field_name, name)

    assert _outcome(check_size, "f", value) == _outcome(one_by_one, "f", value)
