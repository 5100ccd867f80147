"""The dimensions of the statistics.

A *partition* dimension gives every installation exactly one group per day (its
release, its cluster bucket, ...), so its groups add up to the day's total. A
*multi* dimension counts installations per name (addons, definitions); an
installation can be in many groups. How public figures are protected is in
ingest.privacy.
"""

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

if TYPE_CHECKING:  # django-stubs' helper, a development dependency
    from django_stubs_ext import StrOrPromise

from ingest.catalogue import DEFINITION_KINDS

UNKNOWN = "(unknown)"
DEVELOPMENT = "(development builds)"
# What development builds send as the release: never parsed into a release line.
DEVELOPMENT_RELEASES = ("latest", "main", "master", "undefined", "UNKNOWN")
# Cluster buckets of kubevela v1.3.2-v1.4.5 were <3 <10 <50 >=50. The first three are
# today's; >=50 overlaps <100 ... >=500 and is shown apart. The oldest releases counted
# clusters in the application buckets: <2000 and above all lie within today's >=500.
OLD_CLUSTER_BUCKET = "≥50 (releases before v1.4.6)"
CLUSTER_BUCKET_MAP = {
    ">=50": OLD_CLUSTER_BUCKET,
    "<2000": ">=500",
    "<5000": ">=500",
    "<10000": ">=500",
    ">=10000": ">=500",
}
PARTITION = "partition"
MULTI = "multi"


@dataclass(frozen=True)
class Dimension:
    key: str
    title: "StrOrPromise"  # in the page's language; the statistics API's is English
    kind: str
    element: str
    description: "StrOrPromise"
    parent: str | None = None
    ordered: bool = False  # buckets and bands keep their natural order


DIMENSIONS: dict[str, Dimension] = {
    d.key: d
    for d in (
        Dimension(
            "release_minor",
            gettext_lazy("Release lines (major.minor)"),
            PARTITION,
            "version",
            format_lazy(
                gettext_lazy(
                    "Active installations by KubeVela release line. Development builds "
                    "(latest, main, master, ...) are counted as '{group}', never as a line."
                ),
                group=DEVELOPMENT,
            ),
        ),
        Dimension(
            "release",
            gettext_lazy("Releases"),
            PARTITION,
            "version",
            format_lazy(
                gettext_lazy(
                    "Active installations by full KubeVela release; development builds as "
                    "'{group}'."
                ),
                group=DEVELOPMENT,
            ),
            parent="release_minor",
        ),
        Dimension(
            "addon",
            gettext_lazy("Addons enabled"),
            MULTI,
            "enableAddonList",
            gettext_lazy("Installations with each addon enabled."),
        ),
        *(
            Dimension(
                kind.dimension,
                format_lazy(gettext_lazy("{kind} definitions"), kind=kind.label.capitalize()),
                MULTI,
                "xDefinitionTopList",
                format_lazy(
                    gettext_lazy(
                        "Installations listing each {kind} definition among their five most used."
                    ),
                    kind=kind.label,
                ),
            )
            for kind in DEFINITION_KINDS
        ),
        Dimension(
            "cluster_count",
            gettext_lazy("Clusters per installation"),
            PARTITION,
            "clusterCount",
            format_lazy(
                gettext_lazy(
                    "Installations by cluster-count bucket, on today's scale. Releases before "
                    "KubeVela v1.4.6 used <3, <10, <50 and >=50: the first three are today's, "
                    "and >=50, which overlaps every bucket from <100 up, is shown apart as "
                    "'{group}'. The oldest releases' <2000 and above count as >=500."
                ),
                group=OLD_CLUSTER_BUCKET,
            ),
            ordered=True,
        ),
        Dimension(
            "app_count",
            gettext_lazy("Applications per installation"),
            PARTITION,
            "appCount",
            gettext_lazy("Installations by application-count bucket (one scale in every release)."),
            ordered=True,
        ),
        Dimension(
            "browser",
            gettext_lazy("Browsers"),
            PARTITION,
            "browserInfo",
            gettext_lazy(
                "Installations by the browser family of their latest report, as VelaUX tells "
                "it. chrome: Chrome and Chromium-based browsers (Edge, Opera, Samsung, Yandex, "
                "UC, Silk, Electron). safari: Safari, and every browser on iOS (Chrome and "
                "Firefox there too). firefox: Firefox elsewhere. ie: Internet Explorer. other: "
                "a client other than VelaUX."
            ),
        ),
        Dimension(
            "screen_width",
            gettext_lazy("Screen widths"),
            PARTITION,
            "browserInfo",
            gettext_lazy("Installations by screen-width band."),
            ordered=True,
        ),
    )
}

SCREEN_BANDS = (
    (1024, "<1024"),
    (1366, "1024-1365"),
    (1600, "1366-1599"),
    (1920, "1600-1919"),
    (2560, "1920-2559"),
)
WIDEST_BAND = ">=2560"
MINOR = re.compile(r"v?(\d+)\.(\d+)")


def release_line(release: str) -> str:
    if release in (DEVELOPMENT, *DEVELOPMENT_RELEASES):
        return DEVELOPMENT
    match = MINOR.match(release)
    return f"v{match.group(1)}.{match.group(2)}" if match else UNKNOWN


def release_sql(column: str = "release") -> str:
    """The release as statistics count it: development builds as one group."""
    names = ", ".join(f"'{name}'" for name in DEVELOPMENT_RELEASES)
    return f"CASE WHEN {column} IN ({names}) THEN '{DEVELOPMENT}' ELSE {column} END"


def cluster_bucket_sql(column: str = "cluster_count_bucket") -> str:
    """The cluster bucket on today's scale (CLUSTER_BUCKET_MAP), as statistics count it."""
    cases = " ".join(f"WHEN '{old}' THEN '{new}'" for old, new in CLUSTER_BUCKET_MAP.items())
    return f"CASE {column} {cases} ELSE {column} END"


def screen_band_sql(column: str = "screen_width") -> str:
    cases = " ".join(f"WHEN {column} < {limit} THEN '{label}'" for limit, label in SCREEN_BANDS)
    return f"CASE WHEN {column} IS NULL THEN NULL {cases} ELSE '{WIDEST_BAND}' END"


def natural_order(label: str) -> tuple[float, str]:
    """Order bucket labels by their bound: '<3' < '<10' < '>=500'; unknown last."""
    if label == UNKNOWN:
        return (float("inf"), label)
    match = re.match(r"(<|>=)(\d+)(?:-(\d+))?", label)
    if match:
        bound = float(match.group(2)) + (0.5 if match.group(1) == ">=" else 0)
        return (bound, label)
    lower = re.match(r"(\d+)-(\d+)", label)
    if lower:
        return (float(lower.group(2)) + 1, label)
    return (float("inf") - 1, label)
