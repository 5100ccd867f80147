"""The data dictionary: what each element of a report holds, field by field.

Generated, never written by hand: the elements, their client fields and their stored
fields come from the catalogue (ingest.catalogue), the value sets from the tables the
parser checks reports against (ingest.parsing, ingest.dimensions), and each element's
description and approval from a policy version (the published one by default). What
is written here is only what no table can say: an element's title, how VelaUX makes
its value, and the client's known quirks; even those name their values from the
tables. The public page (/dictionary/), the request form, the admin's approve form and
the export datasheets read it, so all of them say the same.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext, gettext_lazy, pgettext_lazy

from ingest import dimensions, parsing
from ingest.catalogue import (
    ADDON_STATUSES,
    DEFINITION_KINDS,
    MAX_DEFINITIONS,
    MAX_SCREEN_WIDTH,
    REPORT_CATALOGUE,
    Catalogue,
    Column,
    ColumnKind,
    Element,
)
from ingest.models import PolicyElement, PolicyVersion
from ingest.selectors import policy_get_published


@dataclass(frozen=True)
class StoredField:
    """One field of a daily-report row, as the data API and the exports name it."""

    name: str  # the name in the data API and exports
    type: str  # human type: "text", "integer", "date", "list of text", ...
    values: tuple[str, ...]  # the value set, () when open
    description: str


@dataclass(frozen=True)
class DictionaryEntry:
    """One element of the policy: what the client sends, what is stored, its quirks."""

    key: str  # the policy element key
    title: str
    description: str  # what the published policy says
    approved: bool  # approved in the given/published policy
    client_fields: tuple[str, ...]  # VelaUX JSON fields it is read from
    how_read: str
    fields: tuple[StoredField, ...]
    quirks: tuple[str, ...]

    @property
    def anchor(self) -> str:
        return f"element-{self.key}"


HUMAN_TYPES = {
    ColumnKind.TEXT: pgettext_lazy("a field's type", "text"),
    ColumnKind.INTEGER: pgettext_lazy("a field's type", "integer"),
    ColumnKind.DATE: pgettext_lazy("a field's type", "date"),
    ColumnKind.NAME_LIST: pgettext_lazy("a field's type", "list of text"),
    ColumnKind.NAME_MAP: pgettext_lazy("a field's type", "map of text to text"),
}


# --- value sets, read from the parser's tables at call time ------------------------------


def bucket_labels(labels: frozenset[str]) -> tuple[str, ...]:
    """Bucket labels in their natural order: '<3' before '<10' before '>=500'."""
    return tuple(sorted(labels, key=dimensions.natural_order))


def scale_labels(scale: tuple[tuple[int, str], ...]) -> tuple[str, ...]:
    """The labels of today's scale, the open-ended top bucket included."""
    return (*(label for _, label in scale), f">={scale[-1][0]}")


def browser_families() -> tuple[str, ...]:
    return (*sorted(parsing.BROWSER_FAMILIES), parsing.OTHER_BROWSER)


def _listed(names) -> str:
    return ", ".join(names)


def _cluster_values() -> tuple[str, ...]:
    return bucket_labels(parsing.CLUSTER_BUCKETS)


def _app_values() -> tuple[str, ...]:
    return bucket_labels(parsing.APP_BUCKETS)


VALUE_SETS: dict[str, Callable[[], tuple[str, ...]]] = {
    "cluster_count_bucket": _cluster_values,
    "app_count_bucket": _app_values,
    "addons": lambda: ADDON_STATUSES,
    "browser_family": browser_families,
}


# --- what each stored field holds -------------------------------------------------------


def _field_descriptions() -> dict[str, str]:
    no_version = _listed(sorted(parsing.NO_VERSION_FAMILIES))
    today_clusters = _listed(scale_labels(parsing.CLUSTER_COUNT_SCALE))
    descriptions = {
        "installation": gettext(
            "The installation's pseudonym: 32 hexadecimal characters, the same "
            "for one installation throughout one grant and unrelated across grants. The "
            "platformID itself never leaves the server."
        ),
        "date": gettext(
            "The UTC day the report was received (YYYY-MM-DD). One row per "
            "installation per day: a later report that day replaces the earlier one."
        ),
        "release": gettext(
            "The KubeVela release as sent, such as v1.9.4; empty when not sent. "
            "Development builds send %(releases)s, stored as sent and counted in the "
            "statistics as one group, '%(group)s'."
        )
        % {"releases": _listed(dimensions.DEVELOPMENT_RELEASES), "group": dimensions.DEVELOPMENT},
        "git_commit": gettext(
            "The git part of the version, such as git-1a2b3c4; empty when the "
            "client sends none (VelaUX v1.1-v1.2)."
        ),
        "install_date": gettext(
            "The UTC date the installation was made; the time of day is "
            "dropped. Empty when VelaUX does not know it."
        ),
        "cluster_count_bucket": gettext(
            "A bucket label, never a count. Today's scale is "
            "%(scale)s; the other labels are those of older releases. Empty before "
            "the installation's first daily count."
        )
        % {"scale": today_clusters},
        "app_count_bucket": gettext(
            "A bucket label, never a count, on one scale in every "
            "release. Empty before the installation's first daily count."
        ),
        "addons": gettext(
            "Each enabled addon's name with its status; {} when none is enabled. "
            "Addon names are open: an installation may add its own."
        ),
        "browser_family": gettext(
            "The browser family, as VelaUX can tell it; 'other' is a client "
            "other than VelaUX. Empty when not sent."
        ),
        "browser_major_version": gettext(
            "The browser's major version, such as 124. Always empty for %(families)s and 'other'."
        )
        % {"families": no_version},
        "screen_width": gettext(
            "The screen width in pixels, 1 to %(max)s. Empty "
            "when the browser reports no screen (0)."
        )
        % {"max": f"{MAX_SCREEN_WIDTH:,}"},
    }
    for kind in DEFINITION_KINDS:
        descriptions[kind.column] = gettext(
            "Up to five %(kind)s definition names, the most used first; [] when "
            "none. A name may carry a revision (webservice@v1). At most %(max)s "
            "are accepted."
        ) % {"kind": kind.label, "max": MAX_DEFINITIONS}
    return descriptions


def stored_field(column: Column) -> StoredField:
    values = VALUE_SETS.get(column.output)
    return StoredField(
        name=column.output,
        type=str(HUMAN_TYPES[column.kind]),
        values=values() if values else (),
        description=_field_descriptions().get(column.output, ""),
    )


# --- what VelaUX does, element by element ------------------------------------------------


@dataclass(frozen=True)
class ElementNotes:
    title: str
    how_read: str
    quirks: tuple[str, ...] = ()


# VelaUX's own behaviour, true of every element: shown once on the page.
CLIENT_QUIRKS = (
    gettext_lazy(
        "Collection is on by default: VelaUX turns it on and offers an opt-out switch in "
        "Platform Settings, although the review approved opt-in."
    ),
    gettext_lazy(
        "VelaUX sends from each browser, not from each installation: every browser that "
        "opens VelaUX sends at most once a day (a 24-hour cookie), and the receiver keeps one "
        "row per installation per UTC day, the last report received."
    ),
    gettext_lazy(
        "After any answer other than a 2xx, the same browser sends again on every page load; "
        "it ignores Retry-After."
    ),
)


def _element_notes() -> dict[str, ElementNotes]:
    """In the active language: the page's, or English for the schema and datasheets."""
    legacy = {today: old for old, today in REPORT_CATALOGUE.legacy_fields().items()}
    clusters = parsing.CLUSTER_COUNT_SCALE
    apps = parsing.APP_COUNT_SCALE
    notes = {
        "platformID": ElementNotes(
            gettext("Installation"),
            gettext(
                "platformID, 16 random characters made once per installation by VelaUX's "
                "server; VelaUX v1.1-v1.2 call it %(legacy)s. "
                "Stored as sent, as the key of the daily row, and given to readers only as a "
                "per-grant pseudonym."
            )
            % {"legacy": legacy.get("platformID", "installID")},
            (
                gettext(
                    "Several browsers of one installation each send the same platformID on "
                    "the same day; the later report replaces the earlier."
                ),
            ),
        ),
        "requestTime": ElementNotes(
            gettext("Report date"),
            gettext("Not sent by the client: the receiver stamps the UTC day of receipt."),
        ),
        "version": ElementNotes(
            gettext("KubeVela version"),
            gettext(
                "version is made as release + '/' + git version, split into the release and "
                "the git commit. A fixed client's 'v1.9.4/git-1a2b3c4' is read the same way."
            ),
            (
                gettext(
                    "A JavaScript bug turns the '/' into NaN: VelaUX sends "
                    "'v1.9.4NaNgit-1a2b3c4'. NaN is the separator and is never stored."
                ),
                gettext(
                    "Either part may be empty ('NaN', 'v1.9.4NaN'); VelaUX v1.1-v1.2 send the "
                    "release without the git part."
                ),
                gettext("Development builds send %(releases)s as the release.")
                % {"releases": _listed(dimensions.DEVELOPMENT_RELEASES)},
            ),
        ),
        "installTime": ElementNotes(
            gettext("Install date"),
            gettext(
                "installTime, an RFC 3339 time with the server's offset (-12:00 to +14:00) and "
                "up to nanoseconds, turned into its UTC date."
            ),
            (
                gettext(
                    "When VelaUX does not know the install time it sends Go's zero time, "
                    "0001-01-01T00:00:00Z: stored as empty."
                ),
            ),
        ),
        "clusterCount": ElementNotes(
            gettext("Clusters per installation"),
            gettext(
                "clusterCount, a bucket label or '' (unknown). A raw count becomes its label on "
                "today's scale: below %(lowest)s is %(label)s, and so on up to "
                ">=%(top)s; the number is never stored."
            )
            % {"lowest": clusters[0][0], "label": clusters[0][1], "top": clusters[-1][0]},
            (
                gettext("VelaUX v1.1-v1.2 send the raw count, not a label."),
                gettext(
                    "KubeVela v1.3.2-v1.4.5 used <3, <10, <50, >=50; the oldest releases used "
                    "the application buckets. Labels of different scales overlap: the "
                    "statistics show >=50 apart, as '%(group)s'."
                )
                % {"group": dimensions.OLD_CLUSTER_BUCKET},
            ),
        ),
        "appCount": ElementNotes(
            gettext("Applications per installation"),
            gettext(
                "appCount, a bucket label or '' (unknown). A raw count becomes its label: "
                "below %(lowest)s is %(label)s, and so on up to >=%(top)s; the "
                "number is never stored."
            )
            % {"lowest": apps[0][0], "label": apps[0][1], "top": apps[-1][0]},
            (gettext("VelaUX v1.1-v1.2 send the raw count, not a label."),),
        ),
        "enableAddonList": ElementNotes(
            gettext("Enabled addons"),
            gettext(
                "enableAddonList, an object of addon name to status, as sent. VelaUX "
                "v1.1-v1.2 send %(legacy)s, a list of "
                "{name, phase}: an addon in a phase other than "
                "%(statuses)s is not enabled and is left out."
            )
            % {
                "legacy": legacy.get("enableAddonList", "enableAddList"),
                "statuses": _listed(ADDON_STATUSES),
            },
            (
                gettext(
                    "There is no cap on the number of addons: the catalogue lists 90 and an "
                    "installation may enable its own."
                ),
                gettext("VelaUX v1.2 sends null when no addon runs: stored as {}."),
            ),
        ),
        "xDefinitionTopList": ElementNotes(
            gettext("Most-used definitions"),
            gettext(
                "%(fields)s: up to five names "
                "each, the most used first, stored as sent, one list per kind."
            )
            % {"fields": _listed(kind.client_field for kind in DEFINITION_KINDS)},
            (
                gettext(
                    "A missing key means an empty list: VelaUX leaves the key out when the "
                    "list is empty."
                ),
                gettext("Policy definitions are sent too and fall under this element."),
                gettext("Not sent by VelaUX v1.1-v1.2."),
            ),
        ),
        "browserInfo": ElementNotes(
            gettext("Browser"),
            gettext(
                "browserInfo.nameAndVersion, the lowercased match of the user agent "
                "('chrome124.0.0.0', 'firefox125.0', 'safari/605.1.15'), split into the family "
                "and the major version; browserInfo.screenWidth as sent. browserInfo.language "
                "and browserInfo.screenHeight are sent but never stored."
            ),
            (
                gettext(
                    "Edge, Opera, Samsung, Yandex, UC, Silk and Electron say chrome: chrome "
                    "counts every Chromium-based browser."
                ),
                gettext("Every browser on iOS says safari, Chrome and Firefox there included."),
                gettext(
                    "For Safari the number is the WebKit build (605), not a Safari version: "
                    "none is stored."
                ),
                gettext(
                    "A user agent with two MSIE tokens gives 'ie8.0,msie6.0': the first is read."
                ),
                gettext(
                    "IE11, Presto Opera and iOS in-app web views make VelaUX's parser throw: "
                    "such browsers send nothing."
                ),
                gettext("Not sent by VelaUX v1.1-v1.2."),
            ),
        ),
    }
    return notes


# --- the entries -------------------------------------------------------------------------


def _policy_elements(policy: PolicyVersion | None) -> dict[str, PolicyElement]:
    if policy is None:
        policy = policy_get_published()
    if policy is None:
        return {}
    return {element.key: element for element in policy.elements.all()}


def _entry(
    element: Element,
    catalogue: Catalogue,
    reviewed: PolicyElement | None,
    notes: ElementNotes | None,
) -> DictionaryEntry:
    spec = catalogue.spec(element)
    return DictionaryEntry(
        key=element.key,
        title=notes.title if notes else element.key,
        description=reviewed.note if reviewed and reviewed.note else element.stored_as,
        approved=bool(reviewed and reviewed.decision == PolicyElement.Decision.APPROVED),
        client_fields=spec.client_fields,
        how_read=notes.how_read if notes else element.stored_as,
        fields=tuple(stored_field(c) for c in catalogue.columns if c.element == element.key),
        quirks=notes.quirks if notes else (),
    )


def dictionary_entries(
    policy: PolicyVersion | None = None, *, catalogue: Catalogue = REPORT_CATALOGUE
) -> list[DictionaryEntry]:
    """Every element the receiver can store, in the catalogue's order.

    ``policy``: the version whose notes and approvals are shown; None: the published one.
    """
    reviewed = _policy_elements(policy)
    notes = _element_notes()
    return [
        _entry(element, catalogue, reviewed.get(element.key), notes.get(element.key))
        for element in catalogue.elements
    ]


def dictionary_entry(
    key: str, policy: PolicyVersion | None = None, *, catalogue: Catalogue = REPORT_CATALOGUE
) -> DictionaryEntry | None:
    for entry in dictionary_entries(policy, catalogue=catalogue):
        if entry.key == key:
            return entry
    return None


def row_fields(*, catalogue: Catalogue = REPORT_CATALOGUE) -> tuple[StoredField, ...]:
    """The fields every daily-report row carries, whatever elements a grant holds."""
    required = catalogue.required_keys()
    return tuple(stored_field(c) for c in catalogue.columns if c.element in required)
