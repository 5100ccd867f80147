"""A synthetic fleet of KubeVela installations: the model behind ``generate_telemetry``.

Dashboards, queries and indexes can only be judged against data shaped like the real
thing: installations that appear and churn away, report on most but not all days,
upgrade some time after a release comes out, and use addons and definitions with a
long-tail popularity. Every row is what the receiver would have stored for a VelaUX
report: the same bucket labels, the same JSON shapes, and NULL in the columns of
elements the published policy does not approve.

Everything derives from the seed: the lifespans from one generator, in order, and
everything else about installation *i* from its own, so a bigger fleet keeps the
smaller fleet's installations. Rows come out day by day, as the receiver would have
stored them, so the table ends up ordered by date like a real one. Loading them is
``ingest.services.synthetic``.
"""

import json
import random
from bisect import bisect
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from hashlib import sha1
from itertools import groupby
from operator import itemgetter
from typing import Any

from ingest.catalogue import CATALOGUE, DEFINITION_KINDS, JSON_COLUMNS, REPORT_CATALOGUE, Catalogue
from ingest.models import PolicyElement, PolicyVersion, Report

# --- what a fleet looks like ------------------------------------------------------------

PLATFORM_ID_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes rand.String's alphabet
PLATFORM_ID_LENGTH = 16

# Oldest first. Release dates are laid out relative to the generated period (see
# release_timeline) so that the newest few always come out during it.
RELEASES = (
    "v1.3.6", "v1.4.8", "v1.5.8", "v1.6.7", "v1.7.7", "v1.8.2", "v1.9.4", "v1.9.7",
    "v1.9.9", "v1.9.11", "v1.9.13", "v1.10.0", "v1.10.1", "v1.10.2", "v1.10.3",
)  # fmt: skip

# The current VelaUX bucket sets (parsing.py also accepts older releases' labels),
# weighted towards small installations.
CLUSTER_BUCKETS = (
    ("<3", 68), ("<10", 18), ("<50", 8), ("<100", 2.5), ("<150", 1.2), ("<200", 0.8),
    ("<300", 0.6), ("<500", 0.5), (">=500", 0.4),
)  # fmt: skip
APP_BUCKETS = (
    ("<10", 50), ("<50", 27), ("<100", 10), ("<500", 8), ("<2000", 3), ("<5000", 1.2),
    ("<10000", 0.5), (">=10000", 0.3),
)  # fmt: skip

VELAUX = "velaux"  # VelaUX sends the reports, so nearly every installation has it
ADDONS = (  # most popular first; popularity falls off as a Zipf law
    "fluxcd", "vela-workflow", "terraform", "kruise-rollout", "terraform-alibaba",
    "terraform-aws", "prometheus-server", "grafana", "vela-prism", "observability",
    "kube-state-metrics", "node-exporter", "loki", "o11y-definitions", "cert-manager",
    "ingress-nginx", "dex", "cloudshell", "kruise", "terraform-azure", "terraform-gcp",
    "terraform-tencent", "grafana-definitions", "istio", "keda", "chartmuseum", "traefik",
    "model-serving", "ocm-hub-control-plane", "ocm-gateway-manager-addon", "kube-trigger",
    "flink-kubernetes-operator", "dapr", "crane", "clickhouse", "terraform-baidu",
    "kubeflow-pipeline", "trivy-operator", "spark-kubernetes-operator", "backstage",
)  # fmt: skip

COMPONENTS = (
    "webservice", "k8s-objects", "worker", "helm", "task", "cron-task", "daemon",
    "kustomize", "ref-objects", "raw", "statefulset", "alibaba-rds", "aws-s3", "alibaba-oss",
)  # fmt: skip
TRAITS = (
    "scaler", "gateway", "labels", "annotations", "sidecar", "env", "expose", "storage",
    "cpuscaler", "hpa", "init-container", "resource", "json-patch", "json-merge-patch",
    "service-binding", "command", "container-image", "affinity", "topologyspreadconstraints",
    "securitycontext", "startup-probe", "k8s-update-strategy", "hostalias", "nocalhost",
)  # fmt: skip
WORKFLOW_STEPS = (
    "deploy", "suspend", "apply-component", "notification", "apply-object", "step-group",
    "webhook", "deploy-cloud-resource", "share-cloud-resource", "read-object",
    "export2config", "export2secret", "apply-terraform-config", "build-push-image", "request",
    "depends-on-app", "canary-deploy", "collect-service-endpoints", "check-metrics",
    "print-message-in-status", "apply-deployment", "clean-jobs",
)  # fmt: skip
POLICIES = (
    "topology", "override", "garbage-collect", "apply-once", "shared-resource", "take-over",
    "read-only", "replication", "debug", "envbinding",
)  # fmt: skip
# Definitions that only exist once an addon installed them.
DEFINITION_PROVIDERS = {
    "helm": "fluxcd",
    "kustomize": "fluxcd",
    "alibaba-rds": "terraform-alibaba",
    "alibaba-oss": "terraform-alibaba",
    "aws-s3": "terraform-aws",
    "apply-terraform-config": "terraform",
    "canary-deploy": "kruise-rollout",
}
# Per definition kind (ingest.catalogue.DEFINITION_KINDS), its names and how many names
# its top list holds (0 to 5); an empty list is sent as a missing key.
TOP_LISTS = {
    "component": (COMPONENTS, (3, 22, 20, 18, 14, 23)),
    "trait": (TRAITS, (15, 20, 18, 15, 12, 20)),
    "workflow_step": (WORKFLOW_STEPS, (30, 30, 15, 10, 7, 8)),
    "policy": (POLICIES, (45, 20, 15, 10, 5, 5)),
}
TOP_LIST_LENGTHS = {kind.column: TOP_LISTS[kind.name] for kind in DEFINITION_KINDS}

BROWSERS = (  # VelaUX says chrome for Edge and Opera too (see parsing.BROWSER_FAMILIES)
    ("chrome", 73), ("firefox", 12), ("safari", 10), ("other", 4),
    ("ie", 1),
)  # fmt: skip
BROWSER_EPOCH = date(2024, 4, 16)  # Chrome 124 and Firefox 125; both ship every 4 weeks
EPOCH_MAJOR = {"chrome": 124, "firefox": 125}
# Safari's number is the WebKit build, never stored as a version; no version is kept
# for browsers VelaUX cannot name either.
FIXED_MAJOR = {"safari": None, "ie": 11, "other": None}
MAJOR_LAGS = ((0, 60), (1, 22), (2, 10), (3, 4), (6, 2), (12, 2))  # releases behind
SCREEN_WIDTHS = (
    (1920, 34), (2560, 10), (1536, 10), (1440, 9), (1366, 8), (1680, 5), (1280, 5),
    (3840, 5), (1600, 4), (3440, 3), (2048, 2), (1360, 2), (1024, 1),
)  # fmt: skip
MAC_SCREEN_WIDTHS = ((1440, 30), (1512, 20), (2560, 15), (1728, 15), (1680, 10), (1280, 10))
USERS_PER_INSTALLATION = ((1, 55), (2, 25), (3, 12), (4, 5), (6, 3))

WEEKEND_ACTIVITY = 0.4  # reports come from people opening VelaUX, fewer at weekends
DAILY_CHURN = 0.003  # chance per day that an established installation goes away
TRY_OUT_SHARE = 0.3  # new installations gone after a few days of trying
NEVER_UPGRADE_SHARE = 0.3

NULL = "\\N"

# How the model draws each element: per report (the browser of whoever opened VelaUX),
# fixed for an installation's lifetime, or changing over time, one path per group in
# the order plan_installation builds them. The columns come from the catalogue.
BROWSER_ELEMENT = "browserInfo"
STATIC_ELEMENTS = ("installTime", "xDefinitionTopList")
PATH_ELEMENTS = (("version",), ("clusterCount", "appCount"), ("enableAddonList",))


@dataclass(frozen=True)
class ColumnGroups:
    browser: tuple[str, ...]
    static: tuple[str, ...]
    paths: tuple[tuple[str, ...], ...]


def column_groups(catalogue: Catalogue) -> ColumnGroups:
    """The report's columns as the model lays them out.

    An element the model draws nothing for (a newly catalogued one) joins the static
    columns and is stored as NULL, as if the policy did not approve it.
    """
    drawn = {BROWSER_ELEMENT, *STATIC_ELEMENTS, *(key for keys in PATH_ELEMENTS for key in keys)}
    undrawn = [
        element.key
        for element in catalogue.elements
        if element.key not in drawn and not element.required
    ]
    return ColumnGroups(
        browser=catalogue.columns_of(BROWSER_ELEMENT),
        static=catalogue.columns_of(*STATIC_ELEMENTS, *undrawn),
        paths=tuple(catalogue.columns_of(*keys) for keys in PATH_ELEMENTS),
    )


COLUMN_GROUPS = column_groups(REPORT_CATALOGUE)
BROWSER_COLUMNS = COLUMN_GROUPS.browser
STATIC_COLUMNS = COLUMN_GROUPS.static
PATH_COLUMNS = COLUMN_GROUPS.paths
SEGMENT_COLUMNS = (
    "policy_version_id",
    "revision",
    *STATIC_COLUMNS,
    *(column for group in PATH_COLUMNS for column in group),
)
COPY_COLUMNS = ("platform_id", "report_date", *BROWSER_COLUMNS, *SEGMENT_COLUMNS)


# --- small random helpers ------------------------------------------------------------------


@dataclass(frozen=True)
class Weighted:
    """Choices with cumulative weights, so a draw is one random() and one bisect."""

    choices: tuple
    cumulative: tuple[float, ...]

    @classmethod
    def of(cls, pairs: Iterable[tuple[Any, float]]) -> "Weighted":
        choices, weights = zip(*pairs, strict=True)
        total, cumulative = 0.0, []
        for weight in weights:
            total += weight
            cumulative.append(total)
        return cls(tuple(choices), tuple(cumulative))

    @classmethod
    def zipf(cls, names: Sequence[str], exponent: float = 1.1) -> "Weighted":
        """Long-tail popularity: the r-th name is drawn in proportion to 1 / r**exponent."""
        return cls.of((name, 1 / rank**exponent) for rank, name in enumerate(names, 1))

    def draw(self, rng: random.Random) -> Any:
        return self.choices[bisect(self.cumulative, rng.random() * self.cumulative[-1])]

    def draw_distinct(
        self, rng: random.Random, count: int, allowed: Callable[[str], bool] | None = None
    ) -> list:
        """Distinct draws, popular ones usually first: the shape of a "most used" list."""
        choices, cumulative, total = self.choices, self.cumulative, self.cumulative[-1]
        draw = rng.random
        chosen: list = []
        for _ in range(count * 8):
            if len(chosen) == count:
                break
            choice = choices[bisect(cumulative, draw() * total)]
            if choice not in chosen and (allowed is None or allowed(choice)):
                chosen.append(choice)
        return chosen


CLUSTER_CHOICES = Weighted.of(CLUSTER_BUCKETS)
APP_CHOICES = Weighted.of((index, weight) for index, (_, weight) in enumerate(APP_BUCKETS))
ADDON_CHOICES = Weighted.zipf(ADDONS)
TOP_LIST_CHOICES = {
    column: (Weighted.zipf(names), Weighted.of(enumerate(lengths)))
    for column, (names, lengths) in TOP_LIST_LENGTHS.items()
}
BROWSER_CHOICES = Weighted.of(BROWSERS)
LAG_CHOICES = Weighted.of(MAJOR_LAGS)
WIDTH_CHOICES = Weighted.of(SCREEN_WIDTHS)
MAC_WIDTH_CHOICES = Weighted.of(MAC_SCREEN_WIDTHS)
USER_COUNT_CHOICES = Weighted.of(USERS_PER_INSTALLATION)


def geometric(rng: random.Random, p_continue: float, limit: int) -> int:
    """How many times in a row something kept happening: a cheap long tail."""
    count = 0
    while count < limit and rng.random() < p_continue:
        count += 1
    return count


# --- releases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    name: str
    git_commit: str
    day: int  # index of its release day in the period; negative: before it


def release_timeline(days: int) -> tuple[Release, ...]:
    """Evenly spaced releases whose newest few fall inside the period.

    Real release dates would put every release before a recent period, and adoption
    curves would not move; anchoring to the period keeps them moving at any length.
    """
    interval = max(10, min(45, days // 3))
    newest = days - 1 - interval // 2
    return tuple(
        Release(name, git_commit(name), newest - interval * (len(RELEASES) - 1 - index))
        for index, name in enumerate(RELEASES)
    )


def git_commit(release: str) -> str:
    """A stable short commit per release, shaped like VelaUX's 'git-1a2b3c4'."""
    return "git-" + sha1(release.encode(), usedforsecurity=False).hexdigest()[:7]


def latest_release(timeline: Sequence[Release], day: int) -> int:
    """Index of the newest release out on ``day`` (the oldest if none was yet)."""
    index = 0
    for position, release in enumerate(timeline):
        if release.day <= day:
            index = position
    return index


def initial_release(
    rng: random.Random, timeline: Sequence[Release], install_day: int, first: int, new: bool
) -> int:
    """New installations mostly take the latest release; older ones lag a few behind."""
    available = latest_release(timeline, first)
    if new:
        return max(0, available - (0 if rng.random() < 0.85 else rng.randint(1, 2)))
    installed = latest_release(timeline, install_day)
    return max(installed, available - geometric(rng, 0.55, len(timeline)))


def release_path(
    rng: random.Random, timeline: Sequence[Release], install_day: int, lifespan: "Lifespan"
) -> list[tuple[int, dict]]:
    """(day, release columns) changes: upgrades come some days after a release, or never."""
    current = initial_release(rng, timeline, install_day, lifespan.first, lifespan.new)
    path = [(lifespan.first, current)]
    if rng.random() >= NEVER_UPGRADE_SHARE:
        mean_lag = rng.choice((4, 12, 30))
        for release in timeline:
            if not lifespan.first < release.day <= lifespan.last or rng.random() > 0.75:
                continue
            day = release.day + int(rng.expovariate(1 / mean_lag))
            target = latest_release(timeline, day)
            if path[-1][0] < day <= lifespan.last and target > current:
                path.append((day, target))
                current = target
    no_commit = rng.random() < 0.01  # a client whose version string lost its commit part
    return [
        (
            day,
            {
                "release": timeline[i].name,
                "git_commit": None if no_commit else timeline[i].git_commit,
            },
        )
        for day, i in path
    ]


# --- one installation ---------------------------------------------------------------------


@dataclass(frozen=True)
class Lifespan:
    first: int  # day index of its first possible report
    last: int  # day index of its last possible report
    new: bool  # installed during the period: its first day always has a report
    churned: bool  # gone before the end: its last day always has a report


def lifespan(rng: random.Random, days: int) -> Lifespan:
    """Staggered first days and churn: longer periods see more installations come and go."""
    new = days > 1 and rng.random() < days / (days + 90)
    first = rng.randrange(1, days) if new else 0
    if new and rng.random() < TRY_OUT_SHARE:
        life = rng.expovariate(1 / 4)
    else:
        life = rng.expovariate(DAILY_CHURN)
    last = min(days - 1, first + int(life))
    return Lifespan(first, last, new, last < days - 1)


def install_day(rng: random.Random, span: Lifespan) -> int:
    """New ones were installed on (or shortly before) their first report; others long ago."""
    if span.new:
        return span.first - (0 if rng.random() < 0.8 else rng.randint(1, 7))
    return -1 - min(int(rng.expovariate(1 / 300)), 1500)


def activity(rng: random.Random) -> float:
    """The chance of a report on a weekday: daily users, regular users, occasional users."""
    roll = rng.random()
    if roll < 0.35:
        return rng.uniform(0.85, 1.0)
    if roll < 0.75:
        return rng.uniform(0.4, 0.85)
    return rng.uniform(0.05, 0.4)


def counts_path(rng: random.Random, span: Lifespan) -> list[tuple[int, dict]]:
    """Bucket changes: empty before the first daily count, and some installations grow."""
    empty: dict[str, str | None] = {"cluster_count_bucket": None, "app_count_bucket": None}
    if rng.random() < 0.02:  # never counted, e.g. the counting job fails
        return [(span.first, empty)]
    cluster, app = CLUSTER_CHOICES.draw(rng), APP_CHOICES.draw(rng)
    path = []
    start = span.first
    if span.new and rng.random() < 0.5:
        path.append((start, empty))
        start += 1
    path.append((start, {"cluster_count_bucket": cluster, "app_count_bucket": APP_BUCKETS[app][0]}))
    growth = (0.35 if span.new else 0.1) * min(1.0, (span.last - start) / 60)
    if app + 1 < len(APP_BUCKETS) and start < span.last and rng.random() < growth:
        grown = {"cluster_count_bucket": cluster, "app_count_bucket": APP_BUCKETS[app + 1][0]}
        path.append((rng.randint(start + 1, span.last), grown))
    return path


def base_addons(rng: random.Random) -> dict[str, str]:
    """Addons at the first report: velaux nearly always, then a long tail, few stuck ones."""
    names = ([VELAUX] if rng.random() < 0.96 else []) + ADDON_CHOICES.draw_distinct(
        rng, geometric(rng, 0.62, 20)
    )
    addons = dict.fromkeys(names, "enabled")
    others = [name for name in names if name != VELAUX]
    if others and rng.random() < 0.03:
        addons[rng.choice(others)] = "enabling" if rng.random() < 0.65 else "disabling"
    return addons


def addon_path(
    rng: random.Random, span: Lifespan, addons: dict[str, str]
) -> list[tuple[int, dict]]:
    """Addon changes: one is enabled (or disabled) and reports 'enabling' for that day."""
    path = [(span.first, addons)]
    rate = min(0.6, 0.004 * (span.last - span.first))
    while len(path) < 5 and path[-1][0] + 1 < span.last and rng.random() < rate:
        day = rng.randint(path[-1][0] + 1, span.last - 1)
        before = path[-1][1]
        path += addon_change(rng, day, before)
    return [(day, {"addons": dict(sorted(value.items()))}) for day, value in path]


def addon_change(rng: random.Random, day: int, before: dict[str, str]) -> list[tuple[int, dict]]:
    removable = [name for name, status in before.items() if name != VELAUX and status == "enabled"]
    if removable and rng.random() < 0.3:
        name = rng.choice(removable)
        after = {key: value for key, value in before.items() if key != name}
        return [(day, {**before, name: "disabling"}), (day + 1, after)]
    new = ADDON_CHOICES.draw_distinct(rng, 1, lambda name: name not in before)
    if not new:
        return []
    return [(day, {**before, new[0]: "enabling"}), (day + 1, {**before, new[0]: "enabled"})]


def top_lists(rng: random.Random, addons: dict[str, str]) -> dict[str, list[str]]:
    """Up to five definitions per kind, popular first, only those an enabled addon provides."""

    def allowed(name: str) -> bool:
        provider = DEFINITION_PROVIDERS.get(name)
        return provider is None or provider in addons

    return {
        column: names.draw_distinct(rng, lengths.draw(rng), allowed)
        for column, (names, lengths) in TOP_LIST_CHOICES.items()
    }


def platform_id(rng: random.Random) -> str:
    return "".join(rng.choices(PLATFORM_ID_ALPHABET, k=PLATFORM_ID_LENGTH))


# --- browsers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Browser:
    """One user's browser, with its columns for every day of the period precomputed."""

    family: str | None
    width: int | None
    majors: tuple[int | None, ...]
    texts: tuple[str, ...]  # COPY text of the three browser columns, per day


class BrowserTables:
    """Shares one Browser per (family, lag, width): browsers update on a 4-week cycle."""

    def __init__(self, dates: Sequence[date], stored: bool):
        self.dates = dates
        self.stored = stored
        self.cache: dict[tuple, Browser] = {}

    def draw(self, rng: random.Random) -> Browser:
        family = BROWSER_CHOICES.draw(rng)
        lag = LAG_CHOICES.draw(rng)
        width = (MAC_WIDTH_CHOICES if family == "safari" else WIDTH_CHOICES).draw(rng)
        key = (family, lag, width)
        if key not in self.cache:
            self.cache[key] = self.build(*key)
        return self.cache[key]

    def build(self, family: str, lag: int, width: int) -> Browser:
        if not self.stored:
            return Browser(
                None, None, (None,) * len(self.dates), ("\\N\t\\N\t\\N\t",) * len(self.dates)
            )
        majors = tuple(browser_major(family, day, lag) for day in self.dates)
        texts = tuple(f"{family}\t{copy_text(major)}\t{width}\t" for major in majors)
        return Browser(family, width, majors, texts)


def browser_major(family: str, day: date, lag: int) -> int | None:
    if family in FIXED_MAJOR:
        return FIXED_MAJOR[family]
    return EPOCH_MAJOR[family] + (day - BROWSER_EPOCH).days // 28 - lag


# --- rows ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """Some columns' values as stored, with their COPY text: formatted once, reused daily."""

    values: dict[str, Any]
    text: str


@dataclass(frozen=True)
class Segment:
    """The columns an installation repeats day after day until something changes."""

    parts: tuple[Part, ...]
    text: str  # COPY text of SEGMENT_COLUMNS, ending the row

    @property
    def values(self) -> dict[str, Any]:
        """Merged only when asked (by bulk_create): COPY needs the text alone."""
        return {column: value for part in self.parts for column, value in part.values.items()}


class SegmentFactory:
    """Builds rows as the receiver would store them under the published policy."""

    def __init__(self, policy_version_id: int, stored_columns: frozenset[str]):
        self.prefix = f"{policy_version_id}\t1\t"  # policy_version_id, revision
        self.stored_columns = stored_columns

    def part(self, columns: Sequence[str], values: dict[str, Any]) -> Part:
        """NULL for columns of elements the policy does not approve, as the receiver does."""
        stored = self.stored_columns
        kept = {c: values.get(c) if c in stored else None for c in columns}
        return Part(kept, "\t".join([copy_text(v, c in JSON_COLUMNS) for c, v in kept.items()]))

    def segment(self, parts: Sequence[Part]) -> Segment:
        return Segment(tuple(parts), self.prefix + "\t".join([p.text for p in parts]) + "\n")


def copy_text(value: Any, as_json: bool = False) -> str:
    """One value in COPY's text format: \\N for NULL, special characters escaped."""
    if value is None:
        return NULL
    text = json.dumps(value) if as_json else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def daily_segments(
    span: "Lifespan", static: Part, paths: Sequence[list[tuple[int, Part]]], factory: SegmentFactory
) -> list[Segment]:
    """One entry per day of the lifespan, sharing a Segment while nothing changes.

    Paths hold only the days something changes, so the per-day work is a list lookup.
    """
    changes = sorted({span.first} | {d for path in paths for d, _ in path if d <= span.last})
    segments: list[Segment] = []
    for position, day in enumerate(changes):
        parts = [static, *(part_on(path, day) for path in paths)]
        end = changes[position + 1] if position + 1 < len(changes) else span.last + 1
        segments += [factory.segment(parts)] * (end - day)
    return segments


def part_on(path: Sequence[tuple[int, Part]], day: int) -> Part:
    """The value a path holds on ``day``: its last change on or before it."""
    return next(part for start, part in reversed(path) if start <= day)


@dataclass(frozen=True)
class Installation:
    platform_id: str
    copy_prefix: str  # the platform ID as COPY text, made once rather than per row
    span: Lifespan
    # Both indexed by day - span.first; None: no report that day.
    browsers: list[Browser | None]
    segments: list[Segment]


class Fleet:
    """The installations of one run; each is planned when its first report is due.

    Planning inside the row stream lets Python plan while PostgreSQL is still busy
    with the rows already sent, which hides most of the planning time. Lifespans
    come first, from one generator, so it is known when each installation starts.
    """

    def __init__(
        self, *, installations: int, days: int, end: date, seed: int, policy: PolicyVersion
    ):
        self.seed = seed
        self.policy_version_id = policy.pk
        self.dates = [end - timedelta(days=days - 1 - offset) for offset in range(days)]
        self.day_weights = [WEEKEND_ACTIVITY if d.weekday() >= 5 else 1.0 for d in self.dates]
        self.timeline = release_timeline(days)
        stored = stored_columns(policy)
        self.browsers = BrowserTables(self.dates, stored=BROWSER_COLUMNS[0] in stored)
        self.factory = SegmentFactory(policy.pk, stored)
        spans = random.Random(f"{seed}:lifespans")
        self.spans = [lifespan(spans, days) for _ in range(installations)]
        self.planned: list[Installation | None] = [None] * installations

    def installation(self, index: int) -> Installation:
        planned = self.planned[index]
        if planned is None:
            planned = self.planned[index] = plan_installation(self, index)
        return planned


def plan_installation(fleet: Fleet, index: int) -> Installation:
    """Everything else about one installation, from its own seeded generator.

    Its own generator keeps installation *i* the same whatever the fleet size.
    """
    rng = random.Random(f"{fleet.seed}:installation:{index}")
    pid = platform_id(rng)
    span, factory = fleet.spans[index], fleet.factory
    installed = install_day(rng, span)
    addons = base_addons(rng)
    static = {"install_date": fleet.dates[0] + timedelta(days=installed), **top_lists(rng, addons)}
    paths = [
        release_path(rng, fleet.timeline, installed, span),
        counts_path(rng, span),
        addon_path(rng, span, addons),
    ]
    formatted = [
        [(day, factory.part(columns, values)) for day, values in path]
        for columns, path in zip(PATH_COLUMNS, paths, strict=True)
    ]
    segments = daily_segments(span, factory.part(STATIC_COLUMNS, static), formatted, factory)
    users = tuple(fleet.browsers.draw(rng) for _ in range(USER_COUNT_CHOICES.draw(rng)))
    browsers = report_days(rng, span, fleet.day_weights, users)
    return Installation(pid, copy_text(pid) + "\t", span, browsers, segments)


def report_days(
    rng: random.Random, span: Lifespan, day_weights: Sequence[float], users: Sequence[Browser]
) -> list[Browser | None]:
    """Per day of the lifespan, the browser whose report was the day's last, or None.

    Drawn here, from the installation's own generator, so that its days do not
    depend on the rest of the fleet. The first user is the most frequent sender.
    """
    chance, draw, count = activity(rng), rng.random, len(users)
    browsers: list[Browser | None] = []
    for day in range(span.first, span.last + 1):
        forced = (span.new and day == span.first) or (span.churned and day == span.last)
        if forced or draw() < chance * day_weights[day]:
            browsers.append(users[0] if count == 1 else users[int(draw() ** 2 * count)])
        else:
            browsers.append(None)
    return browsers


def stored_columns(policy: PolicyVersion) -> frozenset[str]:
    """Columns the receiver fills under ``policy``: the others stay NULL, as in real rows."""
    approved = policy.elements.filter(decision=PolicyElement.Decision.APPROVED)
    keys = approved.values_list("key", flat=True)
    return frozenset(
        column for key in keys if key in CATALOGUE for column in CATALOGUE[key].columns
    )


def daily_reports(fleet: Fleet) -> Iterator[tuple[Installation, int, Browser, Segment]]:
    """(installation, day, browser, segment) per report, day by day like real arrivals.

    Each installation is planned when its first day comes; iterating again yields
    the same reports.
    """
    planned = fleet.planned
    for day in range(len(fleet.dates)):
        for index, span in enumerate(fleet.spans):
            if not span.first <= day <= span.last:
                continue
            inst = planned[index] or fleet.installation(index)
            browser = inst.browsers[day - span.first]
            if browser is not None:
                yield inst, day, browser, inst.segments[day - span.first]


# --- rows as loaded -------------------------------------------------------------------------


def copy_chunks(fleet: Fleet, batch_size: int) -> Iterator[str]:
    """COPY text for every report, in chunks of at most ``batch_size`` rows.

    Formatting is one f-string per row: everything else was precomputed. Each day's
    rows are sorted by platform ID (the start of each line), so the unique index on
    (platform_id, report_date) takes them in one sweep: about 15% faster than in
    random order, and the table stays ordered by date.
    """
    dates = [f"{day.isoformat()}\t" for day in fleet.dates]
    for _, reports in groupby(daily_reports(fleet), key=itemgetter(1)):
        rows = [
            f"{inst.copy_prefix}{dates[day]}{user.texts[day]}{segment.text}"
            for inst, day, user, segment in reports
        ]
        rows.sort()
        for start in range(0, len(rows), batch_size):
            yield "".join(rows[start : start + batch_size])


def report_objects(fleet: Fleet) -> Iterator[Report]:
    """The same reports as model instances, for bulk_create on other databases."""
    for inst, day, user, segment in daily_reports(fleet):
        yield Report(
            platform_id=inst.platform_id,
            report_date=fleet.dates[day],
            policy_version_id=fleet.policy_version_id,
            browser_family=user.family,
            browser_major_version=user.majors[day],
            screen_width=user.width,
            revision=1,
            **segment.values,
        )
