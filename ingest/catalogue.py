"""What the receiver knows how to read and store, element by element, column by column.

The *policy* (database rows, versioned, published by maintainers) decides which
elements are approved; this catalogue says, for each element the code can handle,
which client fields it is read from and which report columns hold its coarse form.
An element absent from the published policy leaves its columns empty and its
client fields are discarded.

It is the one place for the facts about a report's columns and fields. Three tables:

- ``ELEMENTS``: the elements of the review, in the order the data API and exports
  give their fields;
- ``CLIENT_FIELDS``: the fields of VelaUX's JSON body and their OpenAPI shape, in
  the order the payload schema lists them;
- ``COLUMNS``: the report's columns, each with its kind, its name in the data API
  and exports, its Parquet type and whether a CSV export guards it against formula
  injection.

Everything else is derived from them, once, at import: the receiver's columns and
its upsert, the data API's and the exports' fields, the Parquet schema, the payload
schema, the rollups' definition columns and the synthetic fleet's column groups.
Adding a storable element means a row in each table here, its parser, and a
migration for its columns (tests/ingest/test_catalogue.py).
"""

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

# --- what a real client can send, within the body limit -----------------------------------
# VelaUX puts no cap on the addons (the catalogue lists 90, and an installation may add
# its own), sends at most five names per definition list, and names as long as Kubernetes
# allows (253 characters). The parser enforces these and the payload schema states them.

MAX_ADDONS = 1000
MAX_DEFINITIONS = 100
MAX_NAME_LENGTH = 253
MAX_SCREEN_WIDTH = 100_000
PLATFORM_ID_PATTERN = r"[A-Za-z0-9_-]{1,64}"
ADDON_STATUSES = ("enabled", "enabling", "disabling")


@dataclass(frozen=True)
class DefinitionKind:
    """One of the four kinds of KubeVela definition VelaUX lists the most used of."""

    name: str  # "workflow_step"

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")

    @property
    def client_field(self) -> str:
        first, *rest = self.name.split("_")
        return first + "".join(word.capitalize() for word in rest) + "DefinitionTopList"

    @property
    def column(self) -> str:
        return f"{self.name}_definitions"

    @property
    def dimension(self) -> str:
        return f"{self.name}_definition"


DEFINITION_KINDS = tuple(
    DefinitionKind(name) for name in ("component", "trait", "workflow_step", "policy")
)


# --- the three tables ---------------------------------------------------------------------


class ColumnKind(Enum):
    """What a column holds."""

    TEXT = "text"
    INTEGER = "integer"
    DATE = "date"
    NAME_LIST = "JSON list of names"
    NAME_MAP = "JSON map of name to status"

    @property
    def is_json(self) -> bool:
        return self in (ColumnKind.NAME_LIST, ColumnKind.NAME_MAP)


# Parquet types by pyarrow's names (access_requests.export_files turns them into types).
PARQUET_OF_KIND = {
    ColumnKind.TEXT: "string",
    ColumnKind.INTEGER: "int32",
    ColumnKind.DATE: "date32",
    ColumnKind.NAME_LIST: "list<string>",
    ColumnKind.NAME_MAP: "map<string, string>",
}


@dataclass(frozen=True)
class Element:
    """An element of the review: what the policy approves or rejects."""

    key: str
    stored_as: str  # how the public policy describes what is kept
    required: bool = False  # the key of the daily row: a policy cannot leave it out


@dataclass(frozen=True)
class ClientField:
    """A field of VelaUX's JSON body, read for one element."""

    name: str
    element: str
    schema: dict[str, Any] = field(hash=False)  # its OpenAPI shape
    legacy: bool = False  # what VelaUX v1.1-v1.2 send instead of today's field
    members: tuple["ClientField", ...] = ()  # the fields read inside an object

    def stored_names(self) -> tuple[str, ...]:
        """The names the receiver keeps (and counts as drift otherwise): browserInfo.x."""
        if self.members:
            return tuple(f"{self.name}.{member.name}" for member in self.members)
        return (self.name,)


@dataclass(frozen=True)
class Column:
    """A column of ``ingest_report`` that holds an element's coarse form."""

    name: str
    element: str
    kind: ColumnKind
    output: str = ""  # its name in the data API and exports; default: the column's
    parquet: str = ""  # default: the kind's
    csv_neutralised: bool = False  # text a spreadsheet could run as a formula

    def __post_init__(self):
        if not self.output:
            object.__setattr__(self, "output", self.name)
        if not self.parquet:
            object.__setattr__(self, "parquet", PARQUET_OF_KIND[self.kind])


def _definition_list_schema() -> dict[str, Any]:
    return {
        "type": "array",
        "nullable": True,
        "maxItems": MAX_DEFINITIONS,
        "items": {"type": "string", "maxLength": MAX_NAME_LENGTH},
    }


def _bucket_schema(example: str, description: str) -> dict[str, Any]:
    return {
        "nullable": True,
        "example": example,
        "description": description,
        "anyOf": [{"type": "string"}, {"type": "integer", "minimum": 0}],
    }


ELEMENTS = (
    Element(
        "platformID",
        "The installation's random identifier, as sent (VelaUX v1.1-v1.2 call it "
        "installID). Never leaves the server: readers see a per-grant pseudonym.",
        required=True,
    ),
    Element(
        "requestTime",
        "The UTC date the report was received, stamped by the receiver.",
        required=True,
    ),
    Element("version", "The KubeVela release and the git commit, stored separately."),
    Element("installTime", "The UTC date of installation (the time of day is dropped)."),
    Element(
        "clusterCount",
        "A bucket label such as '<10'; never a raw count. VelaUX v1.1-v1.2 send the "
        "raw count: it becomes its label on arrival (2 -> '<3') and is not kept.",
    ),
    Element(
        "appCount",
        "A bucket label such as '<50'; never a raw count. VelaUX v1.1-v1.2 send the "
        "raw count: it becomes its label on arrival (7 -> '<10') and is not kept.",
    ),
    Element(
        "enableAddonList",
        "Addon names with their status (enabled, enabling, disabling). VelaUX "
        "v1.1-v1.2 send a list of {name, phase} (enableAddList), read the same way; "
        "an addon in another phase is not enabled and is left out.",
    ),
    Element(
        "xDefinitionTopList",
        "Up to five most-used definition names of each kind: "
        f"{', '.join(kind.label for kind in DEFINITION_KINDS)}.",
    ),
    Element(
        "browserInfo",
        "Browser family, major version and screen width. The family is what VelaUX "
        "can tell: chrome covers Chrome and every Chromium-based browser (Edge, "
        "Opera, Samsung, Yandex, ...), safari covers Safari and every browser on iOS; "
        "Safari's number is the WebKit build, not a version, and is not kept. "
        "Language and screen height are sent by VelaUX but never stored.",
    ),
)

_BROWSER_MEMBERS = (
    ClientField(
        "nameAndVersion",
        "browserInfo",
        {"type": "string", "nullable": True, "example": "chrome124.0.0.0"},
    ),
    ClientField(
        "screenWidth",
        "browserInfo",
        {
            "type": "integer",
            "nullable": True,
            "minimum": 0,
            "maximum": MAX_SCREEN_WIDTH,
            "description": "0 (no screen reported) is stored as unknown.",
        },
    ),
)

CLIENT_FIELDS = (
    ClientField(
        "platformID", "platformID", {"type": "string", "pattern": f"^{PLATFORM_ID_PATTERN}$"}
    ),
    ClientField(
        "installTime",
        "installTime",
        {"type": "string", "nullable": True, "description": "RFC 3339, any offset/precision."},
    ),
    ClientField(
        "version",
        "version",
        {"type": "string", "nullable": True, "example": "v1.9.4NaNgit-1a2b3c4"},
    ),
    ClientField(
        "installID",
        "platformID",
        {
            "type": "string",
            "description": "VelaUX v1.1-v1.2's name for platformID (read when platformID "
            "is absent).",
        },
        legacy=True,
    ),
    ClientField(
        "clusterCount",
        "clusterCount",
        _bucket_schema(
            "<10",
            "A bucket label; VelaUX v1.1-v1.2 send the raw count, which becomes its label "
            "on arrival and is not kept.",
        ),
    ),
    ClientField("appCount", "appCount", _bucket_schema("<50", "As clusterCount.")),
    ClientField(
        "enableAddList",
        "enableAddonList",
        {
            "type": "array",
            "nullable": True,
            "description": "VelaUX v1.1-v1.2's addons; an addon in another phase than "
            f"{', '.join(ADDON_STATUSES[:-1])} or {ADDON_STATUSES[-1]} is left out.",
            "maxItems": MAX_ADDONS,
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "maxLength": MAX_NAME_LENGTH},
                    "phase": {"type": "string"},
                },
            },
        },
        legacy=True,
    ),
    ClientField(
        "enableAddonList",
        "enableAddonList",
        {
            "type": "object",
            "nullable": True,
            "maxProperties": MAX_ADDONS,
            "additionalProperties": {"type": "string", "enum": list(ADDON_STATUSES)},
        },
    ),
    *(
        ClientField(kind.client_field, "xDefinitionTopList", _definition_list_schema())
        for kind in DEFINITION_KINDS
    ),
    ClientField(
        "browserInfo",
        "browserInfo",
        {
            "type": "object",
            "nullable": True,
            "properties": {member.name: member.schema for member in _BROWSER_MEMBERS},
            "additionalProperties": True,
        },
        members=_BROWSER_MEMBERS,
    ),
)

COLUMNS = (
    # The pseudonym of the installation, never the platform ID, leaves the server.
    Column("platform_id", "platformID", ColumnKind.TEXT, output="installation"),
    Column("report_date", "requestTime", ColumnKind.DATE, output="date"),
    Column("release", "version", ColumnKind.TEXT, csv_neutralised=True),
    Column("git_commit", "version", ColumnKind.TEXT, csv_neutralised=True),
    Column("install_date", "installTime", ColumnKind.DATE),
    Column("cluster_count_bucket", "clusterCount", ColumnKind.TEXT, csv_neutralised=True),
    Column("app_count_bucket", "appCount", ColumnKind.TEXT, csv_neutralised=True),
    Column("addons", "enableAddonList", ColumnKind.NAME_MAP),
    *(Column(kind.column, "xDefinitionTopList", ColumnKind.NAME_LIST) for kind in DEFINITION_KINDS),
    Column("browser_family", "browserInfo", ColumnKind.TEXT, csv_neutralised=True),
    Column("browser_major_version", "browserInfo", ColumnKind.INTEGER),
    Column("screen_width", "browserInfo", ColumnKind.INTEGER),
)


# --- the derived views --------------------------------------------------------------------


@dataclass(frozen=True)
class ElementSpec:
    """One element with its client fields and columns, as the code reads it."""

    key: str
    client_fields: tuple[str, ...]  # today's names first, then v1.1-v1.2's
    columns: tuple[str, ...]
    stored_as: str
    required: bool = False


@dataclass(frozen=True)
class Catalogue:
    """The three tables, and every table the code derives from them."""

    elements: tuple[Element, ...]
    client_fields: tuple[ClientField, ...]
    columns: tuple[Column, ...]

    def __post_init__(self) -> None:
        keys = [element.key for element in self.elements]
        rows: tuple[ClientField | Column, ...] = (*self.client_fields, *self.columns)
        for row in rows:
            if row.element not in keys:
                raise ValueError(f"{row.name} belongs to no element ({row.element!r})")
        for names in (keys, [f.name for f in self.client_fields], [c.name for c in self.columns]):
            if len(set(names)) != len(names):
                raise ValueError(f"names repeat: {names}")
        positions = [keys.index(c.element) for c in self.columns]
        if positions != sorted(positions):
            raise ValueError("columns must come in the order of their elements")

    def by_key(self) -> dict[str, ElementSpec]:
        return {element.key: self.spec(element) for element in self.elements}

    def spec(self, element: Element) -> ElementSpec:
        fields = [f for f in self.client_fields if f.element == element.key]
        fields.sort(key=lambda f: f.legacy)  # stable: today's fields first, in table order
        return ElementSpec(
            key=element.key,
            client_fields=tuple(name for f in fields for name in f.stored_names()),
            columns=tuple(c.name for c in self.columns if c.element == element.key),
            stored_as=element.stored_as,
            required=element.required,
        )

    def required_keys(self) -> frozenset[str]:
        return frozenset(element.key for element in self.elements if element.required)

    def legacy_fields(self) -> dict[str, str]:
        """VelaUX v1.1-v1.2's field names, each with today's name for the same element."""
        today = {f.element: f.name for f in self.client_fields if not f.legacy}
        return {f.name: today[f.element] for f in self.client_fields if f.legacy}

    def columns_of(self, *keys: str) -> tuple[str, ...]:
        """The columns of these elements, in the order given."""
        return tuple(c.name for key in keys for c in self.columns if c.element == key)

    def key_columns(self) -> tuple[str, ...]:
        """The columns the receiver fills itself: the daily row's key."""
        required = self.required_keys()
        return tuple(c.name for c in self.columns if c.element in required)

    def report_columns(self) -> tuple[str, ...]:
        """The columns a parsed report fills, in table order."""
        required = self.required_keys()
        return tuple(c.name for c in self.columns if c.element not in required)

    def json_columns(self) -> frozenset[str]:
        return frozenset(c.name for c in self.columns if c.kind.is_json)

    def element_fields(self) -> dict[str, tuple[str, ...]]:
        """The data API's and the exports' field names of each element, in order."""
        return {
            element.key: tuple(c.output for c in self.columns if c.element == element.key)
            for element in self.elements
        }

    def json_fields(self) -> frozenset[str]:
        return frozenset(c.output for c in self.columns if c.kind.is_json)

    def csv_neutralised_fields(self) -> frozenset[str]:
        return frozenset(c.output for c in self.columns if c.csv_neutralised)

    def parquet_types(self) -> dict[str, str]:
        """Field name to Parquet type name, in field order."""
        return {c.output: c.parquet for c in self.columns}


REPORT_CATALOGUE = Catalogue(ELEMENTS, CLIENT_FIELDS, COLUMNS)

CATALOGUE: dict[str, ElementSpec] = REPORT_CATALOGUE.by_key()
REQUIRED_KEYS = REPORT_CATALOGUE.required_keys()
KEY_COLUMNS = REPORT_CATALOGUE.key_columns()
REPORT_COLUMNS = REPORT_CATALOGUE.report_columns()
JSON_COLUMNS = REPORT_CATALOGUE.json_columns()
DEFINITION_COLUMNS = {kind.dimension: kind.column for kind in DEFINITION_KINDS}
