"""The dimensions of the public statistics, and how small groups are folded away.

A *partition* dimension gives every installation exactly one group per day (its
release, its cluster bucket, ...), so its groups add up to the day's total. A
*multi* dimension counts installations per name (addons, definitions); an
installation can be in many groups, so there is no total to subtract from.

Suppression is decided per day, when rolling up, and public figures for a range
are sums of those per-day decisions. Every public per-day cell is therefore
either zero or at least the minimum, and so is any difference of public figures.
"""

import re
from dataclasses import dataclass

FOLDED = "(other)"
UNKNOWN = "(unknown)"
PARTITION = "partition"
MULTI = "multi"


@dataclass(frozen=True)
class Dimension:
    key: str
    title: str
    kind: str
    element: str
    description: str
    parent: str | None = None
    ordered: bool = False  # buckets and bands keep their natural order


DIMENSIONS: dict[str, Dimension] = {
    d.key: d
    for d in (
        Dimension(
            "release_minor",
            "Release lines (major.minor)",
            PARTITION,
            "version",
            "Active installations by KubeVela release line.",
        ),
        Dimension(
            "release",
            "Releases",
            PARTITION,
            "version",
            "Active installations by full KubeVela release.",
            parent="release_minor",
        ),
        Dimension(
            "addon",
            "Addons enabled",
            MULTI,
            "enableAddonList",
            "Installations with each addon enabled.",
        ),
        Dimension(
            "component_definition",
            "Component definitions",
            MULTI,
            "xDefinitionTopList",
            "Installations listing each component definition among their five most used.",
        ),
        Dimension(
            "trait_definition",
            "Trait definitions",
            MULTI,
            "xDefinitionTopList",
            "Installations listing each trait definition among their five most used.",
        ),
        Dimension(
            "workflow_step_definition",
            "Workflow step definitions",
            MULTI,
            "xDefinitionTopList",
            "Installations listing each workflow step definition among their five most used.",
        ),
        Dimension(
            "policy_definition",
            "Policy definitions",
            MULTI,
            "xDefinitionTopList",
            "Installations listing each policy definition among their five most used.",
        ),
        Dimension(
            "cluster_count",
            "Clusters per installation",
            PARTITION,
            "clusterCount",
            "Installations by cluster-count bucket.",
            ordered=True,
        ),
        Dimension(
            "app_count",
            "Applications per installation",
            PARTITION,
            "appCount",
            "Installations by application-count bucket.",
            ordered=True,
        ),
        Dimension(
            "browser",
            "Browsers",
            PARTITION,
            "browserInfo",
            "Installations by the browser family of their latest report.",
        ),
        Dimension(
            "screen_width",
            "Screen widths",
            PARTITION,
            "browserInfo",
            "Installations by screen-width band.",
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
    match = MINOR.match(release)
    return f"v{match.group(1)}.{match.group(2)}" if match else UNKNOWN


def screen_band_sql(column: str = "screen_width") -> str:
    cases = " ".join(f"WHEN {column} < {limit} THEN '{label}'" for limit, label in SCREEN_BANDS)
    return f"CASE WHEN {column} IS NULL THEN NULL {cases} ELSE '{WIDEST_BAND}' END"


def natural_order(label: str) -> tuple[float, str]:
    """Order bucket labels by their bound: '<3' < '<10' < '>=500'; unknown and other last."""
    if label in (UNKNOWN, FOLDED):
        return (float("inf"), label)
    match = re.match(r"(<|>=)(\d+)(?:-(\d+))?", label)
    if match:
        bound = float(match.group(2)) + (0.5 if match.group(1) == ">=" else 0)
        return (bound, label)
    lower = re.match(r"(\d+)-(\d+)", label)
    if lower:
        return (float(lower.group(2)) + 1, label)
    return (float("inf") - 1, label)


def fold_partition(
    counts: dict[str, int], minimum: int, folded_label: str = FOLDED
) -> dict[str, str | None]:
    """Public label of each group of one day's partition.

    Groups below the minimum fold into ``folded_label``. If that fold is itself
    below the minimum, the smallest shown groups join it until it reaches the
    minimum (so the fold cannot be recovered as total minus the shown groups).
    If the whole day is below the minimum, nothing is shown.
    """
    total = sum(counts.values())
    if total < minimum:
        return dict.fromkeys(counts)
    shown = {value for value, count in counts.items() if count >= minimum}
    folded = total - sum(counts[value] for value in shown)
    while 0 < folded < minimum:
        smallest = min(shown, key=lambda value: (counts[value], value))
        shown.remove(smallest)
        folded += counts[smallest]
    return {value: value if value in shown else folded_label for value in counts}


def fold_children(
    counts: dict[str, int],
    parent_of: dict[str, str],
    parent_labels: dict[str, str | None],
    minimum: int,
) -> dict[str, str | None]:
    """Fold a child partition (releases) consistently with its parent (release lines).

    Children of a suppressed or folded parent follow it, and children of a shown
    parent are folded within it, so a parent's figure minus its shown children
    never reveals a small child.
    """
    labels: dict[str, str | None] = {}
    by_parent: dict[str, dict[str, int]] = {}
    for child, count in counts.items():
        by_parent.setdefault(parent_of[child], {})[child] = count
    for parent, children in by_parent.items():
        parent_label = parent_labels.get(parent)
        if parent_label != parent:
            labels.update(dict.fromkeys(children, parent_label))
        else:
            labels.update(fold_partition(children, minimum, f"{parent} {FOLDED}"))
    return labels


def fold_multi(counts: dict[str, int], minimum: int) -> dict[str, str | None]:
    return {value: value if count >= minimum else None for value, count in counts.items()}
