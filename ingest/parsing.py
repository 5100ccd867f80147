"""Turn a VelaUX report body into the approved coarse form, or say exactly why not.

VelaUX's payload is fixed by code already deployed in many browsers, quirks
included (see the README's "What VelaUX sends"). Parsing is strict about types
and sizes, lenient about the client's known quirks, and keeps only what the
published policy approves. Values of discarded fields are never kept: only the
names, so maintainers can see client drift.
"""

import functools
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from ingest.catalogue import (
    ADDON_STATUSES,
    CATALOGUE,
    DEFINITION_KINDS,
    MAX_ADDONS,
    MAX_DEFINITIONS,
    MAX_NAME_LENGTH,
    MAX_SCREEN_WIDTH,
    PLATFORM_ID_PATTERN,
    REPORT_CATALOGUE,
)

MAX_BODY_BYTES = 64 * 1024
MAX_ENTRIES = 50  # keys of the body and of browserInfo: VelaUX sends 11 and 4

PLATFORM_ID = re.compile(PLATFORM_ID_PATTERN)
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/@-]*")
_BOUNDED_NAME = rf"[A-Za-z0-9][A-Za-z0-9._/@-]{{0,{MAX_NAME_LENGTH - 1}}}"
NAMES = re.compile(rf"{_BOUNDED_NAME}(?:\n{_BOUNDED_NAME})*")  # check_names' one pass
VERSION_PART = re.compile(r"[A-Za-z0-9._+-]{0,64}")
RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})"
)
# The names of discarded fields are stored (counted as client drift) in a text column:
# no control characters (PostgreSQL refuses NUL; the others would reach logs and admin
# pages) and no unpaired surrogates, which cannot be encoded as UTF-8.
UNSTORABLE_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
BROWSER = re.compile(r"([a-z]+)/?(\d{1,6})?(?:[.\d]*)")
GO_ZERO_TIME = re.compile(r"0001-01-01[Tt ]00:00:00(\.0+)?([Zz]|[+-]00:00)")

CLUSTER_BUCKETS = frozenset(
    # current releases, older releases, and the oldest ones that used the app buckets
    [
        "<3",
        "<10",
        "<50",
        "<100",
        "<150",
        "<200",
        "<300",
        "<500",
        ">=500",
        ">=50",
        "<2000",
        "<5000",
        "<10000",
        ">=10000",
    ]
)
APP_BUCKETS = frozenset(["<10", "<50", "<100", "<500", "<2000", "<5000", "<10000", ">=10000"])
LEGACY_FIELDS = REPORT_CATALOGUE.legacy_fields()  # {"installID": "platformID", ...}
# What VelaUX's user-agent match can yield: Edge, Opera, Samsung, Yandex, UC, Silk and
# Electron say chrome; every browser on iOS says safari.
BROWSER_FAMILIES = frozenset(["chrome", "firefox", "safari", "ie"])
OTHER_BROWSER = "other"
# Safari's number is the WebKit build (605), not a Safari version: it is not stored.
NO_VERSION_FAMILIES = frozenset(["safari"])
# The raw counts of VelaUX v1.1-v1.2 become the current bucket labels on arrival.
CLUSTER_COUNT_SCALE = ((3, "<3"), (10, "<10"), (50, "<50"), (100, "<100"), (150, "<150"),
                       (200, "<200"), (300, "<300"), (500, "<500"))  # fmt: skip
APP_COUNT_SCALE = ((10, "<10"), (50, "<50"), (100, "<100"), (500, "<500"), (2000, "<2000"),
                   (5000, "<5000"), (10000, "<10000"))  # fmt: skip


class ReportRejected(Exception):
    """The body cannot be accepted; carries the HTTP status and a message naming the field."""

    def __init__(self, status: int, code: str, message: str, field_name: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field_name = field_name

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.field_name:
            body["field"] = self.field_name
        return body


def invalid(field_name: str, message: str) -> ReportRejected:
    return ReportRejected(400, "invalid_field", f"{field_name}: {message}", field_name)


@dataclass
class ParsedReport:
    platform_id: str
    columns: dict[str, Any] = field(default_factory=dict)
    discarded_fields: list[str] = field(default_factory=list)


def decode_body(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ReportRejected(400, "malformed_json", f"The body is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # arrays or objects nested past the interpreter's stack
        raise ReportRejected(400, "malformed_json", "The body is nested too deeply.") from exc
    if not isinstance(document, dict):
        raise ReportRejected(400, "not_an_object", "The body must be a JSON object.")
    return document


def parse_report(document: dict[str, Any], approved: frozenset[str]) -> ParsedReport:
    """Validate and keep the approved elements; anything else is discarded unread."""
    check_size("(body)", document)
    document = legacy_normalised(document)
    platform_id = parse_platform_id(document.get("platformID"))
    columns: dict[str, Any] = {}
    for key, parse in ELEMENT_PARSERS.items():
        if key in approved:
            columns.update(parse(document))
    return ParsedReport(platform_id, columns, discarded_names(document, approved))


def legacy_normalised(document: dict[str, Any]) -> dict[str, Any]:
    """A report of VelaUX v1.1-v1.2 (``installID``, ``enableAddList``) in today's shape.

    Those releases send ``installID`` for the installation and their addons as a list of
    ``{"name", "phase"}``; their raw ``appCount`` and ``clusterCount`` become bucket
    labels in the bucket parser. A report that has both names keeps today's.
    """
    if not any(name in document for name in LEGACY_FIELDS):
        return document
    normalised = dict(document)
    for old, new in LEGACY_FIELDS.items():
        if old not in normalised:
            continue
        value = normalised.pop(old)
        # read (and so checked) even when today's name is there too, then the latter wins
        if old == "enableAddList":
            value = legacy_addons(value)
        elif new in normalised:
            expect(old, value, str, "a string")
        if new not in normalised:
            normalised[new] = value
    return normalised


def legacy_addons(value: Any) -> dict[str, str]:
    """[{"name": "fluxcd", "phase": "enabled"}, ...] -> {"fluxcd": "enabled"}.

    A phase other than enabled, enabling or disabling (a disabled or suspended addon) is
    an addon that is not enabled: it is left out.
    """
    if value is None:  # a Go nil slice: v1.2 sends null when no addon is running
        return {}
    expect("enableAddList", value, list, "an array of {name, phase} objects")
    check_size("enableAddList", value, MAX_ADDONS)
    addons = {}
    for item in value:
        expect("enableAddList", item, dict, "an object with name and phase")
        name = check_name("enableAddList", item.get("name"))
        phase = item.get("phase")
        if isinstance(phase, str) and phase in ADDON_STATUSES:
            addons[name] = phase
    return addons


@functools.lru_cache(maxsize=8)
def kept_fields(approved: frozenset[str]) -> frozenset[str]:
    """The client's field names that the approved elements read (platformID always)."""
    return frozenset(
        {"platformID", *(name for key in approved for name in CATALOGUE[key].client_fields)}
    )


def discarded_names(document: dict[str, Any], approved: frozenset[str]) -> list[str]:
    kept = kept_fields(approved)
    names = [name for name in document if name != "browserInfo" and name not in kept]
    browser_info = document.get("browserInfo")
    if isinstance(browser_info, dict):
        for name in browser_info:
            check_key("browserInfo", name)  # also when browserInfo is not approved
        names += [
            f"browserInfo.{name}" for name in browser_info if f"browserInfo.{name}" not in kept
        ]
    elif "browserInfo" in document and "browserInfo" not in approved:
        names.append("browserInfo")
    return sorted(names)


# --- size and type guards -----------------------------------------------------------


def check_size(field_name: str, value: dict | list, limit: int = MAX_ENTRIES) -> None:
    if len(value) > limit:
        raise invalid(field_name, f"has {len(value)} entries; at most {limit} are accepted")
    if isinstance(value, dict) and not keys_are_storable(value):
        for name in value:  # which one, and why
            check_key(field_name, name)


def keys_are_storable(value: dict) -> bool:
    """check_key of every key, at once (the hot path; JSON keys are always strings)."""
    return (
        max(map(len, value), default=0) <= MAX_NAME_LENGTH
        and UNSTORABLE_NAME.search("".join(value)) is None
    )


def check_key(field_name: str, name: str) -> None:
    check_name_length(field_name, name)
    if UNSTORABLE_NAME.search(name):
        raise invalid(field_name, "a name contains a control character or an unpaired surrogate")


def check_name_length(field_name: str, name: str) -> None:
    if len(name) > MAX_NAME_LENGTH:
        raise invalid(field_name, f"a name is {len(name)} characters; at most {MAX_NAME_LENGTH}")


def expect(field_name: str, value: Any, kind: type, kind_name: str) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool):
        raise invalid(field_name, f"expected {kind_name}, got {json_type(value)}")
    return value


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array"}.get(
        type(value), "object"
    )


def check_names(field_name: str, names: list) -> list[str]:
    """check_name of each name; one regular expression over them all when they pass."""
    try:
        joined = "\n".join(names)  # a newline is in no valid name
    except TypeError:
        joined = None  # not all strings: check_name says which
    if (
        joined is not None
        and joined.count("\n") == len(names) - 1  # no name brought a newline of its own
        and NAMES.fullmatch(joined)
    ):
        return list(names)
    return [check_name(field_name, name) for name in names]


def check_name(field_name: str, name: Any) -> str:
    expect(field_name, name, str, "a string")
    check_name_length(field_name, name)
    if not NAME.fullmatch(name):
        raise invalid(field_name, f"{name!r} is not a valid name")
    return name


# --- one parser per element -----------------------------------------------------------


def parse_platform_id(value: Any) -> str:
    if value is None:
        raise ReportRejected(400, "missing_field", "platformID: required", "platformID")
    expect("platformID", value, str, "a string")
    if not PLATFORM_ID.fullmatch(value):
        raise invalid("platformID", "must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'")
    return value


def parse_version(document: dict[str, Any]) -> dict[str, Any]:
    """Split VelaUX's 'v1.9.4NaNgit-1a2b3c4' (or a fixed client's 'v1.9.4/git-...')."""
    value = document.get("version")
    if value is None:
        return {"release": None, "git_commit": None}
    expect("version", value, str, "a string")
    release, separator, git_commit = value.partition("/")
    if not separator:
        release, _, git_commit = value.partition("NaN")
    for part in (release, git_commit):
        if not VERSION_PART.fullmatch(part):
            raise invalid("version", "must be '<release>/<git commit>' of letters, digits, '.-+_'")
    return {"release": release or None, "git_commit": git_commit or None}


def parse_install_time(document: dict[str, Any]) -> dict[str, Any]:
    value = document.get("installTime")
    if value is None or value == "":
        return {"install_date": None}
    expect("installTime", value, str, "an RFC 3339 timestamp string")
    if GO_ZERO_TIME.fullmatch(value):  # Go's zero time: VelaUX does not know the install time
        return {"install_date": None}
    return {"install_date": utc_date(value)}


def utc_date(value: str) -> date:
    match = RFC3339.fullmatch(value)
    if not match:
        raise invalid("installTime", "is not an RFC 3339 timestamp with a UTC offset")
    fraction = (match.group(7) or "")[:7]  # Python keeps microseconds; nanoseconds are cut
    offset = match.group(8).upper().replace("Z", "+00:00")
    text = f"{value[:19].replace('t', 'T').replace(' ', 'T')}{fraction}{offset}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise invalid("installTime", f"is not a real date and time ({exc})") from exc
    try:
        return moment.astimezone(UTC).date()
    except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise invalid("installTime", "is outside the years 1 to 9999 in UTC") from exc


def bucket_of(count: int, scale: tuple[tuple[int, str], ...]) -> str:
    """The label of a raw count on today's scale: 7 -> '<10'; past the last bound, '>='."""
    for bound, label in scale:
        if count < bound:
            return label
    return f">={scale[-1][0]}"


def bucket_parser(
    field_name: str, column: str, labels: frozenset[str], scale: tuple[tuple[int, str], ...]
):
    ordered = ", ".join(sorted(labels))

    def parse(document: dict[str, Any]) -> dict[str, Any]:
        value = document.get(field_name)
        if value is None or value == "":
            return {column: None}
        if isinstance(value, int) and not isinstance(value, bool):
            # VelaUX v1.1-v1.2 send the raw count: only its label is kept, never the number
            if value < 0:
                raise invalid(field_name, "a count cannot be negative")
            return {column: bucket_of(value, scale)}
        expect(field_name, value, str, "a bucket label string")
        if value not in labels:
            raise invalid(field_name, f"unknown bucket label {value!r}; expected one of {ordered}")
        return {column: value}

    return parse


def parse_addons(document: dict[str, Any]) -> dict[str, Any]:
    value = document.get("enableAddonList")
    if value is None:
        return {"addons": {}}
    expect("enableAddonList", value, dict, "an object of addon name to status")
    check_size("enableAddonList", value, MAX_ADDONS)
    addons = {}
    for name, status in value.items():
        check_name("enableAddonList", name)
        if not isinstance(status, str) or status not in ADDON_STATUSES:
            raise invalid(
                "enableAddonList",
                f"status of {name!r} must be one of {', '.join(sorted(ADDON_STATUSES))}",
            )
        addons[name] = status
    return {"addons": addons}


def parse_definitions(document: dict[str, Any]) -> dict[str, Any]:
    columns: dict[str, list[str]] = {}
    for kind in DEFINITION_KINDS:
        field_name = kind.client_field
        value = document.get(field_name)
        if value is None:
            columns[kind.column] = []
            continue
        expect(field_name, value, list, "an array of definition names")
        check_size(field_name, value, MAX_DEFINITIONS)
        columns[kind.column] = check_names(field_name, value)
    return columns


def parse_browser_info(document: dict[str, Any]) -> dict[str, Any]:
    value = document.get("browserInfo")
    empty = {"browser_family": None, "browser_major_version": None, "screen_width": None}
    if value is None:
        return empty
    expect("browserInfo", value, dict, "an object")
    check_size("browserInfo", value)
    family, major = parse_name_and_version(value.get("nameAndVersion"))
    return {
        "browser_family": family,
        "browser_major_version": major,
        "screen_width": parse_screen_width(value.get("screenWidth")),
    }


def parse_name_and_version(value: Any) -> tuple[str | None, int | None]:
    """'chrome124.0.0.0' -> ('chrome', 124); 'safari/605.1.15' -> ('safari', None).

    Safari's number is the WebKit build, not its version, so none is kept. A user agent
    with two MSIE tokens arrives as 'ie8.0,msie6.0': the first is read.
    """
    if value is None or value == "":
        return None, None
    expect("browserInfo.nameAndVersion", value, str, "a string")
    check_name_length("browserInfo.nameAndVersion", value)
    first = value.strip().lower().split(",")[0].strip()
    match = BROWSER.fullmatch(first)
    if not match:
        return OTHER_BROWSER, None
    family = match.group(1) if match.group(1) in BROWSER_FAMILIES else OTHER_BROWSER
    if family in NO_VERSION_FAMILIES or family == OTHER_BROWSER:
        return family, None
    major = int(match.group(2)) if match.group(2) else None
    return family, major


def parse_screen_width(value: Any) -> int | None:
    if value is None:
        return None
    expect("browserInfo.screenWidth", value, int, "an integer number of pixels")
    if value == 0:  # a browser that reports no screen (headless, some web views): unknown
        return None
    if not 0 < value <= MAX_SCREEN_WIDTH:
        raise invalid("browserInfo.screenWidth", f"must be between 1 and {MAX_SCREEN_WIDTH} pixels")
    return value


ELEMENT_PARSERS = {
    "version": parse_version,
    "installTime": parse_install_time,
    "clusterCount": bucket_parser(
        "clusterCount", "cluster_count_bucket", CLUSTER_BUCKETS, CLUSTER_COUNT_SCALE
    ),
    "appCount": bucket_parser("appCount", "app_count_bucket", APP_BUCKETS, APP_COUNT_SCALE),
    "enableAddonList": parse_addons,
    "xDefinitionTopList": parse_definitions,
    "browserInfo": parse_browser_info,
}
