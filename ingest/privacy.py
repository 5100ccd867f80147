"""Differential privacy for the public statistics: the mechanism and its accounting.

The unit of privacy is one installation-day: one installation's report on one UTC day.
Two data sets are neighbours when one has a report the other lacks. Each day is released
once, after it has closed, through one measurement per dimension:

1. **Contribution bounding.** A report counts once in each single-valued dimension
   (release, buckets, browser, screen band) and for at most ``bound`` names in a
   multi-valued one (addons, each definition list). So adding or removing one report
   changes at most ``bound`` counts of a dimension, each by one.
2. **Noise.** OpenDP's discrete Gaussian adds noise of standard deviation ``scale`` to
   every count. No sampler here is our own.
3. **Label selection.** A name on the public lists (``ingest.public_labels`` and the fixed
   bucket, browser and band labels) is always released, whatever its count, even zero.
   Any other name is released only when its noisy count reaches ``threshold``
   (OpenDP's ``make_gaussian_threshold``; the chance that a name sent by a single
   installation passes is part of δ).

OpenDP's privacy maps give each dimension's ρ (zero-concentrated DP) and δ for one
installation-day; they add up over dimensions and over days, and ``budget`` converts
the sum to (ε, δ) with OpenDP.
"""

import hashlib
import math
from dataclasses import dataclass
from functools import cache

import opendp.prelude as dp
from django.conf import settings

from ingest import public_labels
from ingest.dimensions import (
    CLUSTER_BUCKET_MAP,
    DEVELOPMENT,
    DIMENSIONS,
    MULTI,
    SCREEN_BANDS,
    UNKNOWN,
    WIDEST_BAND,
    release_line,
)
from ingest.parsing import APP_BUCKETS, BROWSER_FAMILIES, CLUSTER_BUCKETS, OTHER_BROWSER

dp.enable_features("contrib")

NOISE_SCALE = 24.0
"""Standard deviation of the noise added to every daily count, in installations."""

THRESHOLD = 170
"""A name not on a public list is released only when its noisy daily count reaches this."""

ADDON_BOUND = 10
DEFINITION_BOUND = 5  # VelaUX sends at most five names per list, most used first
DELTA = 1e-9
"""The δ at which ρ is converted to ε (the thresholds' own δ comes on top)."""

Z_95 = 1.959964  # two-sided 95% quantile of the normal distribution
DISPLAY_Z = 4.5
"""A range figure is listed when its average is at least this many noise deviations."""

# Public labels are lifted this far above the threshold before the noise, so that they
# pass it whatever their count; the lift is taken off again afterwards.
_LIFT = THRESHOLD + 60 * int(NOISE_SCALE)

_DEFINITIONS = {
    "component_definition": public_labels.COMPONENT_DEFINITIONS,
    "trait_definition": public_labels.TRAIT_DEFINITIONS,
    "workflow_step_definition": public_labels.WORKFLOW_STEP_DEFINITIONS,
    "policy_definition": public_labels.POLICY_DEFINITIONS,
}
PUBLIC_LABELS: dict[str, frozenset[str]] = {
    "release_minor": frozenset(
        {release_line(r) for r in public_labels.RELEASE_TAGS} | {DEVELOPMENT, UNKNOWN}
    ),
    "release": public_labels.RELEASE_TAGS | {DEVELOPMENT, UNKNOWN},
    "addon": public_labels.ADDONS,
    **_DEFINITIONS,
    "cluster_count": frozenset(
        {CLUSTER_BUCKET_MAP.get(label, label) for label in CLUSTER_BUCKETS} | {UNKNOWN}
    ),
    "app_count": APP_BUCKETS | {UNKNOWN},
    "browser": BROWSER_FAMILIES | {OTHER_BROWSER, UNKNOWN},
    "screen_width": frozenset({label for _, label in SCREEN_BANDS} | {WIDEST_BAND, UNKNOWN}),
}


@dataclass(frozen=True)
class DimensionPrivacy:
    dimension: str
    bound: int
    scale: float
    threshold: int
    rho: float
    delta: float

    def as_json(self) -> dict:
        return {
            "dimension": self.dimension,
            "contribution_bound": self.bound,
            "noise_standard_deviation": self.scale,
            "threshold": self.threshold,
            "public_labels": len(PUBLIC_LABELS[self.dimension]),
            "rho_per_day": self.rho,
            "delta_per_day": self.delta,
            "epsilon_per_day": epsilon_for(self.rho, days=1),
        }


def contribution_bound(dimension: str) -> int:
    if DIMENSIONS[dimension].kind != MULTI:
        return 1
    return ADDON_BOUND if dimension == "addon" else DEFINITION_BOUND


@cache
def _measurement() -> dp.Measurement:
    """The same measurement serves every dimension: only the bound of its input differs."""
    domain = dp.map_domain(dp.atom_domain(T=str), dp.atom_domain(T=dp.i64))
    metric = dp.l02inf_distance(dp.absolute_distance(T=dp.i64))
    return dp.m.make_gaussian_threshold(domain, metric, scale=NOISE_SCALE, threshold=THRESHOLD)


@cache
def dimension_privacy(dimension: str) -> DimensionPrivacy:
    """What one installation-day can change in one dimension's daily release, per OpenDP."""
    bound = contribution_bound(dimension)
    # (names changed, total change, largest change of one name) for one report
    rho, delta = _measurement().map((bound, bound, 1))
    return DimensionPrivacy(dimension, bound, NOISE_SCALE, THRESHOLD, rho, delta)


def release_counts(dimension: str, counts: dict[str, int]) -> dict[str, int]:
    """One day's noisy counts of one dimension: every public label, and other names that pass.

    ``counts`` must already be bounded (``bound_names``). Values may be negative: they are
    the true count plus noise, and are kept as drawn so that sums over days stay unbiased.
    """
    public = PUBLIC_LABELS[dimension]
    lifted = {label: _LIFT + counts.get(label, 0) for label in public}
    lifted.update({label: count for label, count in counts.items() if label not in public})
    noisy = _measurement()(lifted)
    return {label: value - _LIFT if label in public else value for label, value in noisy.items()}


def bound_names(names: list[str], *, bound: int, key: str = "") -> list[str]:
    """At most ``bound`` distinct names of one report.

    Ordered lists (definitions, most used first) keep their first names. For unordered
    ones (addons) pass ``key`` (the installation and day): beyond the bound, names are
    kept in an order drawn from the key, so no name is favoured over others.
    """
    distinct = list(dict.fromkeys(names))
    if len(distinct) <= bound:
        return distinct
    if key:
        distinct.sort(key=lambda name: hashlib.sha256(f"{key}\x1f{name}".encode()).digest())
    return distinct[:bound]


def _gaussian_for_rho(rho: float) -> dp.Measurement:
    domain = dp.atom_domain(T=float, nan=False)
    return dp.m.make_gaussian(domain, dp.absolute_distance(T=float), scale=1 / math.sqrt(2 * rho))


def epsilon_for(rho: float, *, days: int = 1, delta: float = DELTA) -> float:
    """ε at ``delta`` of ``days`` releases of ρ each (zCDP composes by adding ρ), per OpenDP."""
    converted = dp.c.make_fix_delta(
        dp.c.make_zCDP_to_approxDP(_gaussian_for_rho(rho * days)), delta
    )
    epsilon, _ = converted.map(1.0)
    return epsilon


def budget() -> dict:
    """Every figure of the privacy statement, as the page, the API and the README give it."""
    return {**_budget(), "release_delay_hours": settings.STATS_RELEASE_DELAY_HOURS}


@cache
def _budget() -> dict:
    dimensions = [dimension_privacy(key) for key in DIMENSIONS]
    rho = sum(d.rho for d in dimensions)
    threshold_delta = sum(d.delta for d in dimensions)

    def over(days: int) -> dict:
        return {
            "days": days,
            "rho": rho * days,
            "epsilon": epsilon_for(rho, days=days),
            "delta": DELTA + threshold_delta * days,
        }

    return {
        "unit_of_privacy": "one installation's report on one UTC day",
        "mechanism": "discrete Gaussian noise and thresholding (OpenDP), zero-concentrated DP",
        "noise_standard_deviation": NOISE_SCALE,
        "threshold": THRESHOLD,
        "display_z": DISPLAY_Z,
        "addon_bound": ADDON_BOUND,
        "definition_bound": DEFINITION_BOUND,
        # 95% of figures are within these many installations of the truth
        "error_95": {
            "one_day": round(Z_95 * NOISE_SCALE, 1),
            "average_of_30_days": round(Z_95 * NOISE_SCALE / math.sqrt(30), 1),
        },
        "dimensions": [d.as_json() for d in dimensions],
        "per_day": over(1),
        "per_30_days": over(30),
        "per_365_days": over(365),
    }


def display_floor(days: int, minimum: int) -> float:
    """The smallest range average listed: the minimum group size, and DISPLAY_Z deviations.

    Post-processing only: it hides figures that are mostly noise (an unused public label
    averages zero plus noise), and costs no privacy.
    """
    return max(float(minimum), DISPLAY_Z * NOISE_SCALE / math.sqrt(max(days, 1)))
