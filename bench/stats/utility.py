"""How far the public figures are from the truth: the real release, drawn many times.

Every day is drawn with ``ingest.privacy.release_counts`` itself (OpenDP's discrete
Gaussian and threshold, no reimplementation) on a day's bounded counts of one
dimension. A day's counts hold, for every group size, one label on the public lists and
one that is not; the noise of each label is drawn independently, so one call gives one
day of every (size, kind) at once, as a real day's release holds groups of every size.

Figures are read as the selectors read them (``ingest.stats``): a label missing from a
day's release (not public, below the threshold) counts 0 that day, and a range figure
is the sum of the daily figures divided by the days released. Needs Django's settings
(``budget()`` reads STATS_RELEASE_DELAY_HOURS, the display floor STATS_MIN_INSTALLATIONS),
not the database.
"""

import math
import multiprocessing
import os
import statistics
import time
from dataclasses import dataclass, field

from harness import percentile, verdict

DIMENSION = "addon"
# Labels of the public lists, one per group size (fluxcd first): the release treats
# every public label alike, whatever its name.
PUBLIC_CHOICES = ("fluxcd", "vela-workflow", "terraform", "kruise-rollout")
NOT_PUBLIC = "custom-addon-x"
SIZES = (10, 100, 1_000, 10_000)
WITHIN = 0.10  # the "within 10% of the truth"
SHARE = 0.95  # "on 95% of days"
DAY_TARGET_SIZE = 1_000  # one-day figure of a group of >= 1,000 installations on a day
AVERAGE_TARGET_SIZE = 100  # 30-day average of a group averaging >= 100 a day
WINDOW = 30


@dataclass
class Group:
    kind: str  # "public" or "not public"
    label: str
    size: int
    days: list[int | None] = field(default_factory=list)  # None: not released that day

    def figures(self) -> list[int]:
        return [0 if value is None else value for value in self.days]


def labels_for(sizes: tuple[int, ...]) -> list[Group]:
    from ingest.privacy import PUBLIC_LABELS

    public = PUBLIC_LABELS[DIMENSION]
    names = [n for n in PUBLIC_CHOICES if n in public]
    names += sorted(public - set(names))
    groups = []
    for size, name in zip(sizes, names, strict=False):
        groups.append(Group("public", name, size))
        other = NOT_PUBLIC if size == sizes[0] else f"{NOT_PUBLIC}-{size}"
        if other in public:
            raise SystemExit(f"{other} is on the public lists")
        groups.append(Group("not public", other, size))
    return groups


def _draw(task: tuple[int, dict[str, int]]) -> list[tuple[int | None, ...]]:
    """``days`` releases of the same counts; the value of each label, None if not released."""
    days, counts = task
    from ingest.privacy import release_counts

    labels = list(counts)
    drawn = []
    for _ in range(days):
        released = release_counts(DIMENSION, counts)
        drawn.append(tuple(released.get(label) for label in labels))
    return drawn


def draw_days(groups: list[Group], days: int, jobs: int) -> float:
    """Fill every group's ``days`` daily figures; returns the seconds it took."""
    counts = {g.label: g.size for g in groups}
    chunks = max(1, jobs * 8)
    tasks = [(days // chunks + (i < days % chunks), counts) for i in range(chunks)]
    started = time.perf_counter()
    if jobs > 1:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            parts = pool.map(_draw, tasks)
    else:
        parts = [_draw(task) for task in tasks]
    for part in parts:
        for values in part:
            for group, value in zip(groups, values, strict=True):
                group.days.append(value)
    return time.perf_counter() - started


@dataclass
class Utility:
    group: Group
    day_trials: int
    windows: int
    day_median: float
    day_p95: float
    day_within: float
    day_listed: float
    average_median: float
    average_p95: float
    average_within: float
    average_listed: float
    released: float

    @property
    def day_target(self) -> bool | None:
        return self.day_within >= SHARE if self.group.size >= DAY_TARGET_SIZE else None

    @property
    def average_target(self) -> bool | None:
        return self.average_within >= SHARE if self.group.size >= AVERAGE_TARGET_SIZE else None


def evaluate(group: Group, day_trials: int, windows: int, min_installations: int) -> Utility:
    from ingest.privacy import display_floor

    size, figures = group.size, group.figures()
    one_day = [abs(v - size) / size for v in figures[:day_trials]]
    averages = [sum(figures[w * WINDOW : (w + 1) * WINDOW]) / WINDOW for w in range(windows)]
    over = [abs(a - size) / size for a in averages]
    day_floor = display_floor(1, min_installations)
    average_floor = display_floor(WINDOW, min_installations)
    return Utility(
        group=group,
        day_trials=len(one_day),
        windows=len(averages),
        day_median=statistics.median(one_day),
        day_p95=percentile(one_day, 0.95),
        day_within=sum(e <= WITHIN for e in one_day) / len(one_day),
        day_listed=sum(v >= day_floor for v in figures[:day_trials]) / len(one_day),
        average_median=statistics.median(over),
        average_p95=percentile(over, 0.95),
        average_within=sum(e <= WITHIN for e in over) / len(over),
        average_listed=sum(a >= average_floor for a in averages) / len(averages),
        released=sum(v is not None for v in group.days) / len(group.days),
    )


def measure(sizes: tuple[int, ...], day_trials: int, windows: int, jobs: int | None = None) -> dict:
    from django.conf import settings

    jobs = jobs or os.cpu_count() or 1
    groups = labels_for(sizes)
    days = max(day_trials, windows * WINDOW)
    seconds = draw_days(groups, days, jobs)
    minimum = settings.STATS_MIN_INSTALLATIONS
    rows = [evaluate(g, day_trials, windows, minimum) for g in groups]
    return {"rows": rows, "days": days, "seconds": seconds, "jobs": jobs, "minimum": minimum}


# --- report -------------------------------------------------------------------------------


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _target(ok: bool | None) -> str:
    return "-" if ok is None else verdict(ok)


def utility_lines(result: dict) -> list[str]:
    from ingest.privacy import NOISE_SCALE, THRESHOLD, Z_95, display_floor

    rows: list[Utility] = result["rows"]
    minimum = result["minimum"]
    first = rows[0]
    lines = [
        f"Dimension `{DIMENSION}`, noise σ = {NOISE_SCALE:g} installations a day, threshold "
        f"{THRESHOLD} for labels not on the public lists; {result['days']:,} days drawn with "
        f"`ingest.privacy.release_counts` in {result['seconds']:.1f} s ({result['jobs']} "
        f"processes). One-day figures: the first {first.day_trials:,} days; 30-day averages: "
        f"{first.windows:,} windows of {WINDOW} consecutive draws (sum / {WINDOW}, a day "
        f"without the label counts 0). Relative error = |figure - truth| / truth. "
        f"'listed': the figure reaches the display floor (`display_floor`: "
        f"{display_floor(1, minimum):.1f} for one day, {display_floor(WINDOW, minimum):.1f} "
        f"for {WINDOW} days). Expected 95% error of the noise alone: ±{Z_95 * NOISE_SCALE:.1f} "
        f"a day, ±{Z_95 * NOISE_SCALE / math.sqrt(WINDOW):.1f} on a {WINDOW}-day average.",
        "",
        "| label | true group size | released on | one day: median rel. error | p95 | "
        "within 10% | listed | target | 30-day avg: median rel. error | p95 | within 10% "
        "| listed | target |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        g = r.group
        lines.append(
            f"| `{g.label}` ({g.kind}) | {g.size:,} | {_pct(r.released)} | "
            f"{_pct(r.day_median)} | {_pct(r.day_p95)} | {_pct(r.day_within)} | "
            f"{_pct(r.day_listed)} | {_target(r.day_target)} | {_pct(r.average_median)} | "
            f"{_pct(r.average_p95)} | {_pct(r.average_within)} | {_pct(r.average_listed)} | "
            f"{_target(r.average_target)} |"
        )
    lines.append("")
    lines += target_lines(rows)
    return lines


def target_lines(rows: list[Utility]) -> list[str]:
    lines = []
    for text, attr, size in (
        (
            f"one-day figure within 10% of the truth on >= 95% of days, groups of >= "
            f"{DAY_TARGET_SIZE:,} installations on a day",
            "day_target",
            DAY_TARGET_SIZE,
        ),
        (
            f"30-day average within 10% of the truth (on >= 95% of windows), groups averaging "
            f">= {AVERAGE_TARGET_SIZE:,} daily installations",
            "average_target",
            AVERAGE_TARGET_SIZE,
        ),
    ):
        parts = []
        for kind in ("public", "not public"):
            checked = [r for r in rows if r.group.kind == kind and getattr(r, attr) is not None]
            if not checked:
                continue
            missed = [r for r in checked if not getattr(r, attr)]
            tested = ", ".join(f"{r.group.size:,}" for r in checked)
            note = (
                "ok"
                if not missed
                else "**MISSED** at " + ", ".join(f"{r.group.size:,}" for r in missed)
            )
            parts.append(f"{kind} labels (sizes {tested}): {note}")
        if not parts:
            parts = [f"not measured (no group size >= {size:,}; see --sizes)"]
        lines.append(f"- Target: {text}: " + "; ".join(parts))
    return lines


def targets_met(rows: list[Utility]) -> bool:
    return all(r.day_target is not False and r.average_target is not False for r in rows)


def budget_lines() -> list[str]:
    from ingest.privacy import DELTA, budget, dimension_privacy, epsilon_for

    spent = budget()
    lines = [
        f"Unit of privacy: {spent['unit_of_privacy']}; {spent['mechanism']}. Noise σ "
        f"{spent['noise_standard_deviation']:g}, threshold {spent['threshold']}, bounds: "
        f"{spent['addon_bound']} addons, {spent['definition_bound']} names per definition "
        f"list, 1 otherwise; released {spent['release_delay_hours']} h after the day ends. "
        f"ε is at δ = {DELTA:g} for the conversion from ρ (zCDP); the δ column adds the "
        f"thresholds' δ. Per dimension from `dimension_privacy` (ε per dimension with "
        f"`epsilon_for`), total from `budget()`.",
        "",
        "| dimension | bound | public labels | threshold δ / day | ρ / day | ε / day | δ / day "
        "| ρ / 30 d | ε / 30 d | δ / 30 d | ρ / 365 d | ε / 365 d | δ / 365 d |",
        "| --- |" + " ---: |" * 12,
    ]
    for entry in spent["dimensions"]:
        d = dimension_privacy(entry["dimension"])
        cells = [f"{d.delta:.3g}"]
        for days in (1, 30, 365):
            cells += [
                f"{d.rho * days:.4g}",
                f"{epsilon_for(d.rho, days=days):.3g}",
                f"{DELTA + d.delta * days:.4g}",
            ]
        lines.append(
            f"| {d.dimension} | {d.bound} | {entry['public_labels']} | " + " | ".join(cells) + " |"
        )
    threshold_delta = sum(entry["delta_per_day"] for entry in spent["dimensions"])
    cells = [f"{threshold_delta:.3g}"]
    for key in ("per_day", "per_30_days", "per_365_days"):
        over = spent[key]
        cells += [f"{over['rho']:.4g}", f"{over['epsilon']:.3g}", f"{over['delta']:.4g}"]
    together = f"| **all {len(spent['dimensions'])} together** (`budget()`) | | | "
    lines.append(together + " | ".join(cells) + " |")
    errors = spent["error_95"]
    lines += [
        "",
        f"`budget()['error_95']`: ±{errors['one_day']} installations on one day, "
        f"±{errors['average_of_30_days']} on a 30-day average.",
    ]
    return lines
