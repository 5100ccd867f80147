"""The differential privacy of the public statistics, attacked from the outside.

Every test reads the public surfaces (the /stats/ page, the CSVs, the JSON API and its
daily series) as an anonymous visitor would, and reasons about what they reveal.

The noise comes from OpenDP's sampler, which cannot be seeded, so every assertion that
depends on it states the chance that it fails by bad luck; each is below about 1e-6.
The layout of the test data uses a seeded ``random.Random`` and is the same on each run.
"""

import csv
import html
import io
import json
import math
import random
import re
import statistics
from datetime import date, timedelta

import pytest
from celery import Celery
from celery.app.task import Task
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from ingest import privacy, tasks
from ingest.dimensions import DIMENSIONS, MULTI
from ingest.models import PublicFigure, Report, RollupDay, StatsRelease
from ingest.public_labels import ADDONS
from ingest.services import (
    DayNotClosed,
    rollup_day,
    stats_release_day,
)
from ingest.services.rollups import DEFINITION_COLUMNS
from portal.models import AuditEvent
from tests.ingest.factories import report_row
from tests.ingest.helpers import post_report

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 2)  # a closed past day
MULTI_DIMENSIONS = [key for key, spec in DIMENSIONS.items() if spec.kind == MULTI]
FAKES = 3 * settings.STATS_MIN_INSTALLATIONS
RELEASED_FAKES = privacy.THRESHOLD + 10 * int(privacy.NOISE_SCALE)
# lies THRESHOLD - 5 sigma: a count this small passes with chance P(N(0, 24) >= 120) < 3e-7
NEARLY_THRESHOLD = privacy.THRESHOLD - 5 * int(privacy.NOISE_SCALE)


# --- reading the public surfaces --------------------------------------------------------


def _one_day(day: date) -> dict:
    return {"range": "custom", "from": day.isoformat(), "to": day.isoformat()}


def _get(client, path: str, params: dict) -> bytes:
    response = client.get(path, params)
    assert response.status_code == 200, (path, response.status_code)
    return response.content


def _public_surfaces(client, day: date) -> dict[str, bytes]:
    """Every public answer about one day, as bytes: page, CSVs, API index and dimensions."""
    surfaces = {
        "/stats/": _get(client, "/stats/", _one_day(day)),
        "/api/v1/stats/": _get(client, "/api/v1/stats/", {}),
        "release_minor-daily.csv": _get(client, "/stats/release_minor-daily.csv", _one_day(day)),
    }
    for dimension in DIMENSIONS:
        surfaces[f"{dimension}.csv"] = _get(client, f"/stats/{dimension}.csv", _one_day(day))
        surfaces[f"api:{dimension}"] = _get(
            client, f"/api/v1/stats/{dimension}", {"from": day, "to": day}
        )
    return surfaces


def _html_table(page: str, dimension: str) -> dict[str, int]:
    section = re.search(
        rf'<section class="stat" aria-labelledby="{dimension}-heading">(.*?)</section>',
        page,
        re.S,
    )
    assert section, f"no {dimension} section on /stats/"
    # cells: the average, its share, the installation-days
    rows = re.findall(
        r'<tr><th scope="row">([^<]*)</th><td class="num">([^<]*)</td>'
        r'<td class="num">([^<]*)</td><td class="num">([^<]*)</td></tr>',
        section.group(1),
    )
    return {html.unescape(label): int(days) for label, _, _, days in rows}


def _figures_seen(client, dimension: str, day: date) -> dict[str, int]:
    """What a visitor learns of one dimension on one day: label -> released figure.

    Read from the API groups, the API daily series, the CSV and the page's table; they
    must agree, since they are the same released figures.
    """
    answer = client.get(f"/api/v1/stats/{dimension}", {"from": day, "to": day}).json()
    groups = {g["label"]: g["installation_days"] for g in answer["groups"]}
    daily = {c["label"]: c["installations"] for c in answer["daily"] if c["day"] == str(day)}
    body = _get(client, f"/stats/{dimension}.csv", _one_day(day)).decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == [dimension, "average_daily_installations", "installation_days"]
    from_csv = {label: int(days) for label, _, days in rows[1:]}
    page = _get(client, "/stats/", _one_day(day)).decode()
    assert groups == daily == from_csv == _html_table(page, dimension)
    return groups


def _released(day: date, dimension: str) -> dict[str, int]:
    figures = PublicFigure.objects.filter(day=day, dimension=dimension)
    return dict(figures.values_list("label", "value"))


def _stored_figures(day: date) -> list[tuple]:
    figures = PublicFigure.objects.filter(day=day).order_by("dimension", "label")
    return list(figures.values_list("dimension", "label", "value"))


def _reports(day: date, rows: list[tuple[str, dict]]) -> list[Report]:
    """Unsaved reports like report_row's, for thousands of rows (it queries per row)."""
    template = report_row("template", day)
    fields = {
        field.attname: getattr(template, field.attname)
        for field in Report._meta.concrete_fields
        if not field.primary_key
    }
    return [Report(**{**fields, "platform_id": pid, **overrides}) for pid, overrides in rows]


def _carrying(dimension: str, names: list[str]) -> dict:
    """The columns of a report that sends ``names`` in one multi dimension."""
    if dimension == "addon":
        return {"addons": dict.fromkeys(names, "enabled")}
    return {DEFINITION_COLUMNS[dimension]: list(names)}


# --- 1. Sybils: fakes around a label cannot reveal whether one real installation sent it -


def _plant_sybils(dimension: str, fakes_per_label: int) -> tuple[list[str], set[str]]:
    """100 unlisted labels, 50 sent by one real installation each; fakes send every label.

    Each fake sends ``bound`` labels at once, so it counts fully for each of them.
    """
    rng = random.Random(f"sybil:{dimension}:{fakes_per_label}")
    labels = [
        f"{rng.choice(['acme', 'corp', 'int'])}-{rng.getrandbits(48):012x}" for _ in range(100)
    ]
    assert len(set(labels)) == 100
    assert not set(labels) & privacy.PUBLIC_LABELS[dimension]
    present = set(rng.sample(labels, 50))
    rows = [
        (f"real{index:03d}", _carrying(dimension, [label]))
        for index, label in enumerate(sorted(present))
    ]
    bound = privacy.contribution_bound(dimension)
    shuffled = rng.sample(labels, len(labels))
    for start in range(0, len(shuffled), bound):
        names = shuffled[start : start + bound]
        rows.extend(
            (f"fake{start:03d}n{index:04d}", _carrying(dimension, names))
            for index in range(fakes_per_label)
        )
    Report.objects.bulk_create(_reports(DAY, rows), batch_size=2000)
    return labels, present


def _accuracy(figures: dict[str, int], labels: list[str], present: set[str], fakes: int) -> float:
    """The attacker's rule: 'present' when the figure exceeds the fakes (unseen: 0)."""
    right = sum((figures.get(label, 0) > fakes) == (label in present) for label in labels)
    return right / len(labels)


@pytest.mark.parametrize("dimension", MULTI_DIMENSIONS)
def test_sybils_below_the_threshold_learn_nothing(client, postgres, dimension):
    """30 fakes per label: 31 or 30 installations, far below the threshold of 170.

    A planted label is released only if its noise reaches 139.5 (5.8 sigma): chance
    ~3e-9 per label. So every label is unseen, and the attacker is right exactly for
    the 50 absent ones (accuracy 0.5). Without the threshold and the noise, the exact
    counts would give the attacker accuracy 1.
    """
    labels, present = _plant_sybils(dimension, FAKES)
    assert stats_release_day(day=DAY) is not None

    seen = _figures_seen(client, dimension, DAY)
    public = _accuracy(seen, labels, present, FAKES)
    released = _accuracy(_released(DAY, dimension), labels, present, FAKES)
    assert public <= 0.75, f"the public surfaces tell {public:.0%} of the labels apart"
    assert released <= 0.75, f"the released figures tell {released:.0%} of the labels apart"
    assert not set(labels) & set(seen)
    exact = {label: FAKES + (label in present) for label in labels}
    assert _accuracy(exact, labels, present, FAKES) == 1.0  # the attack works on true counts


@pytest.mark.slow
@pytest.mark.parametrize("dimension", MULTI_DIMENSIONS)
def test_sybils_above_the_threshold_see_only_noise(client, postgres, dimension):
    """410 fakes per label: every planted label is released (10 sigma above the threshold).

    Figure = 410 + (1 if present) + N(0, 24): the attacker's guess is right with chance
    ~0.508 per label, so over 100 labels accuracy ~ 0.5 +- 0.05; it exceeds 0.75 with
    chance ~3e-7 (5 sigma). The surfaces list the top 25 labels of a multi dimension only,
    so the check is also made on every released figure, the strongest view there is.
    """
    labels, present = _plant_sybils(dimension, RELEASED_FAKES)
    assert stats_release_day(day=DAY) is not None

    seen = _figures_seen(client, dimension, DAY)
    released = _released(DAY, dimension)
    assert set(labels) <= set(released)  # fails with chance ~1e-21
    assert set(seen) <= set(labels)  # the top of the list: planted labels only
    public = _accuracy(seen, labels, present, RELEASED_FAKES)
    every = _accuracy(released, labels, present, RELEASED_FAKES)
    assert public <= 0.75, f"the public surfaces tell {public:.0%} of the labels apart"
    assert every <= 0.75, f"the released figures tell {every:.0%} of the labels apart"
    # the noise is there and unbiased: 100 draws of N(0, 24) have a mean within +-12
    # (5 sigma) and a standard deviation within 14..36 (beyond 5 sigma either way)
    errors = [released[label] - RELEASED_FAKES - (label in present) for label in labels]
    assert abs(statistics.fmean(errors)) <= 12
    assert 14 <= statistics.stdev(errors) <= 36


# --- 2. Differencing: nothing after the release changes what the day shows --------------


def _realistic_day(day: date) -> list[str]:
    """300 reports of common shape, a few with rare names; returns the platform IDs.

    About fifteen common groups have 150 to 270 installations, well above the one-day
    display floor (DISPLAY_Z noise deviations, 108), so the surfaces show real figures.
    """
    rng = random.Random(f"realistic:{day}")
    releases = ["v1.9.4", "v1.10.3", "v1.9.3", "v1.8.2", None]
    addons = {"fluxcd": 0.8, "velaux": 0.6, "vela-prism": 0.4, "terraform": 0.1}
    components = {"webservice": 0.9, "k8s-objects": 0.5, "helm": 0.4, "worker": 0.1}
    traits = {"scaler": 0.7, "gateway": 0.5, "storage": 0.1}
    steps = {"deploy": 0.8, "suspend": 0.3}
    policies = {"topology": 0.6, "override": 0.5}

    def some(names: dict[str, float]) -> list[str]:
        return [name for name, share in names.items() if rng.random() < share]

    specs = []
    for index in range(300):
        platform_id = f"site{index:04d}"
        rare = index % 100 == 7  # three installations with names nobody else sends
        fields = dict(
            release="v1.9.4-private-fork" if rare else rng.choices(releases, [60, 25, 8, 5, 2])[0],
            cluster_count_bucket=rng.choices(["<3", "<10", "<50", ">=500"], [60, 30, 9, 1])[0],
            app_count_bucket=rng.choices(["<10", "<50", "<100", ">=10000"], [55, 35, 9, 1])[0],
            addons={
                **dict.fromkeys(some(addons), "enabled"),
                **({"acme-internal": "enabled"} if rare else {}),
            },
            component_definitions=some(components) + (["acme-component"] if rare else []),
            trait_definitions=some(traits),
            workflow_step_definitions=some(steps),
            policy_definitions=some(policies),
            browser_family=rng.choices(
                ["chrome", "firefox", "safari", "other", None], [70, 15, 10, 3, 2]
            )[0],
            screen_width=rng.choices([1440, 1920, 2560, 800, None], [20, 60, 15, 3, 2])[0],
        )
        specs.append((platform_id, fields))
    Report.objects.bulk_create(_reports(day, specs))
    return [platform_id for platform_id, _ in specs]


@pytest.mark.slow
def test_erasures_late_reports_and_reruns_leave_a_released_day_byte_identical(
    client, typical_payload
):
    today = timezone.now().date()
    day = today - timedelta(days=2)  # closed, and among the days the hourly task looks at
    ids = _realistic_day(day)
    erased = ids[7]  # one of the installations with rare names
    Report.objects.bulk_create([report_row(erased, today - timedelta(days=1))])
    call_command("rollup", f"--from={day}", f"--to={day}", verbosity=0)
    assert StatsRelease.objects.get(day=day).release_number == 1
    before = _public_surfaces(client, day)
    figures = _stored_figures(day)
    assert b"acme" not in b"".join(before.values())  # rare names are not released
    # the surfaces are not empty: each common group is listed with chance >= 0.96, so
    # fewer than five of the fifteen are listed with chance ~1e-11
    assert sum(len(json.loads(before[f"api:{key}"])["groups"]) for key in DIMENSIONS) >= 5

    assert client.delete(f"/api/v1/installations/{erased}").status_code == 204
    late = dict(typical_payload, platformID="latecomer0001")
    assert post_report(client, late).status_code == 202
    call_command("rollup", f"--from={day}", f"--to={day}", verbosity=0)
    tasks.rollup_recent_days()
    cache.clear()

    after = _public_surfaces(client, day)
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, f"these surfaces changed: {changed}"
    assert _stored_figures(day) == figures
    # the exact rollups did see the erasure: only the public release stood still
    assert RollupDay.objects.get(day=day).reports == 299
    assert not RollupDay.objects.filter(stale=True).exists()
    assert StatsRelease.objects.get(day=day).release_number == 1
    assert not AuditEvent.objects.filter(action="stats.re_released").exists()

    # an operator's explicit re-release draws again (hundreds of figures, each of which
    # keeps its value with chance < 0.017: all of them keep it with chance ~0)
    call_command("rollup", f"--from={day}", f"--to={day}", "--re-release", verbosity=0)
    release = StatsRelease.objects.get(day=day)
    assert release.release_number == 2
    assert release.rho == pytest.approx(2 * privacy.budget()["per_day"]["rho"])
    assert _stored_figures(day) != figures
    event = AuditEvent.objects.get(action="stats.re_released")
    assert event.target_id == day.isoformat()
    assert event.before["release_number"] == 1
    assert event.after["release_number"] == 2
    cache.clear()
    redrawn = _public_surfaces(client, day)
    assert redrawn["/stats/"] != before["/stats/"]  # ~15 redrawn figures (see above)


# --- 3. Label selection: rare unlisted names never reach a surface ------------------------

RARE_COUNTS = (1, settings.STATS_MIN_INSTALLATIONS, FAKES, NEARLY_THRESHOLD)
SELECTED = (*MULTI_DIMENSIONS, "release")


def _rare(dimension: str, count: int) -> str:
    if dimension == "release":
        return f"v1.9.4-rare-n{count:04d}"
    return f"{dimension.replace('_', '-')}-rare-n{count:04d}"


def _crowd(dimension: str) -> list[str]:
    if dimension == "release":
        return ["v1.9.4-crowd-build"]
    return [f"{dimension.replace('_', '-')}-crowd-{letter}" for letter in "abc"]


def _sending(platform_id: str, names_of) -> tuple[str, dict]:
    fields = {"release": names_of("release")[0]}
    for dimension in MULTI_DIMENSIONS:
        fields.update(_carrying(dimension, names_of(dimension)))
    return platform_id, fields


@pytest.mark.slow
def test_unlisted_names_below_the_threshold_reach_no_surface(client):
    """Names of 1, 10, 30 and 50 installations, beside crowds of 410 that do pass.

    The 50-installation name passes only when its noise reaches 120 = 5 sigma: < 3e-7
    for each of the six names of that size; the smaller ones are further out. A crowd
    name fails only when its noise is below -240 = -10 sigma (~1e-23).
    """
    specs = [_sending(f"crowd{index:04d}", _crowd) for index in range(RELEASED_FAKES)]
    for count in RARE_COUNTS:
        specs.extend(
            _sending(f"rare{count:04d}n{index:04d}", lambda d, c=count: [_rare(d, c)])
            for index in range(count)
        )
    rows = _reports(DAY, specs)
    Report.objects.bulk_create(rows, batch_size=2000)
    call_command("rollup", f"--from={DAY}", f"--to={DAY}", verbosity=0)

    surfaces = _public_surfaces(client, DAY)
    everything = b"\n".join(surfaces.values()).decode()
    for dimension in SELECTED:
        for count in RARE_COUNTS:
            name = _rare(dimension, count)
            assert name not in everything, f"{name} ({count} installations) is public"
            assert not PublicFigure.objects.filter(label=name).exists()
        seen = _figures_seen(client, dimension, DAY)
        assert set(_crowd(dimension)) <= set(seen)  # the surfaces do show released names
    assert "-rare-n" not in everything

    # a name on the public list is released whether or not anyone sent it
    addons = _released(DAY, "addon")
    unsent = sorted(ADDONS - {name for row in rows for name in row.addons})
    assert unsent and set(unsent) <= set(addons)
    assert "zookeeper-operator" in addons
    # ... with noise: ~90 draws of N(0, 24) have a mean within +-15 and a standard
    # deviation within 14..36 (each beyond 5 sigma)
    values = [addons[name] for name in unsent]
    assert abs(statistics.fmean(values)) <= 15
    assert 14 <= statistics.stdev(values) <= 36
    # a name neither listed nor sent has no figure at all
    assert not PublicFigure.objects.filter(label="never-sent-addon").exists()
    assert "never-sent-addon" not in addons


# --- 4. Coalescing: anonymous erasures queue nothing and mark each day once -------------


@pytest.fixture
def queued(monkeypatch) -> list:
    """Every Celery task sent (apply_async, delay or send_task), recorded and not run."""
    calls = []

    def apply_async(task, args=None, kwargs=None, **options):
        calls.append(task.name)

    def send_task(app, name, *args, **kwargs):
        calls.append(name)

    monkeypatch.setattr(Task, "apply_async", apply_async)
    monkeypatch.setattr(Celery, "send_task", send_task)
    return calls


def test_a_burst_of_erasures_marks_the_day_stale_once_and_queues_nothing(
    client, typical_payload, queued
):
    today = timezone.now().date()
    assert post_report(client, typical_payload).status_code == 202
    rollup_day(day=today)
    for index in range(50):
        platform_id = f"burst{index:04d}madeup"
        payload = dict(typical_payload, platformID=platform_id)
        assert post_report(client, payload).status_code == 202
        assert client.delete(f"/api/v1/installations/{platform_id}").status_code == 204
    days_touched = {today}
    stale = RollupDay.objects.filter(stale=True)
    assert stale.count() <= len(days_touched)
    assert list(stale.values_list("day", flat=True)) == [today]
    assert RollupDay.objects.count() == 1
    assert queued == []
    tasks.rollup_recent_days.delay()  # the probe does see a queued task
    assert queued == ["ingest.tasks.rollup_recent_days"]


def test_erasing_a_released_day_marks_it_stale_and_leaves_its_figures(client, queued):
    yesterday = timezone.now().date() - timedelta(days=1)
    rows = [report_row(f"other{index:03d}", DAY) for index in range(40)]
    rows += [report_row("veteran0001", DAY), report_row("veteran0001", yesterday)]
    Report.objects.bulk_create(rows)
    call_command("rollup", f"--from={DAY}", f"--to={DAY}", verbosity=0)
    rollup_day(day=yesterday)
    figures = _stored_figures(DAY)
    assert figures

    assert client.delete("/api/v1/installations/veteran0001").status_code == 204
    assert set(RollupDay.objects.filter(stale=True).values_list("day", flat=True)) == {
        DAY,
        yesterday,
    }
    assert queued == []
    assert _stored_figures(DAY) == figures
    assert StatsRelease.objects.get(day=DAY).release_number == 1


# --- 5. The mechanism's parts ------------------------------------------------------------


def test_bound_names_deduplicates_and_keeps_the_first_of_ordered_lists():
    assert privacy.bound_names(["a", "b", "a", "c", "b"], bound=5) == ["a", "b", "c"]
    assert privacy.bound_names(list("abcdefgh"), bound=5) == list("abcde")
    assert privacy.bound_names(list("abcdefgh") * 2, bound=5) == list("abcde")
    assert privacy.bound_names([], bound=5) == []


def test_bound_names_samples_addons_by_key_deterministically_and_evenly():
    names = [f"addon-{index:02d}" for index in range(30)]
    key = "site0001:2026-03-02"
    kept = privacy.bound_names(names, bound=10, key=key)
    assert len(kept) == len(set(kept)) == 10
    assert set(kept) <= set(names)
    assert privacy.bound_names(names, bound=10, key=key) == kept
    assert set(privacy.bound_names(names[::-1] * 2, bound=10, key=key)) == set(kept)
    assert kept != names[:10]  # not the first ten: sha256 of this key orders them otherwise
    assert privacy.bound_names(names, bound=10, key="site0002:2026-03-02") != kept
    # over many installation-days, every name is kept about as often (1000 * 10/30 = 333,
    # binomial sd 15; the digest is deterministic, so this cannot flake)
    kept_count = dict.fromkeys(names, 0)
    for index in range(1000):
        for name in privacy.bound_names(names, bound=10, key=f"site{index}:2026-03-02"):
            kept_count[name] += 1
    assert all(250 <= count <= 420 for count in kept_count.values()), kept_count


@pytest.mark.parametrize("dimension", list(DIMENSIONS))
def test_release_counts_keeps_every_public_label_and_drops_a_single_unlisted_one(dimension):
    # the unlisted name passes with chance P(N(0, 24) >= 169) ~ 1e-12
    released = privacy.release_counts(dimension, {"unlisted-single": 1})
    assert set(released) == privacy.PUBLIC_LABELS[dimension]
    assert all(isinstance(value, int) for value in released.values())
    # a large unlisted count is released, within 10 sigma of the truth
    crowd = privacy.release_counts(dimension, {"unlisted-crowd": 10_000})
    assert abs(crowd["unlisted-crowd"] - 10_000) <= 240


def test_budget_adds_up_over_dimensions_and_days():
    budget = privacy.budget()
    rho = sum(privacy.dimension_privacy(key).rho for key in DIMENSIONS)
    assert budget["per_day"]["rho"] == pytest.approx(rho)
    assert rho == pytest.approx(sum(d["rho_per_day"] for d in budget["dimensions"]))
    assert budget["per_30_days"]["rho"] == pytest.approx(30 * rho)
    epsilons = [budget[key]["epsilon"] for key in ("per_day", "per_30_days", "per_365_days")]
    assert 0 < epsilons[0] < epsilons[1] < epsilons[2]
    assert privacy.epsilon_for(rho, days=2) > epsilons[0]
    # one report moves a multi dimension's counts by at most its bound
    assert privacy.dimension_privacy("addon").rho == pytest.approx(
        privacy.ADDON_BOUND / (2 * privacy.NOISE_SCALE**2)
    )
    assert privacy.dimension_privacy("release").rho == pytest.approx(
        1 / (2 * privacy.NOISE_SCALE**2)
    )
    assert not math.isnan(budget["per_day"]["delta"])


def test_today_is_not_released():
    today = timezone.now().date()
    with pytest.raises(DayNotClosed):
        stats_release_day(day=today)
    with pytest.raises(DayNotClosed):
        stats_release_day(day=today + timedelta(days=1))
    assert not StatsRelease.objects.exists()
    assert not PublicFigure.objects.exists()


def test_a_day_is_released_once():
    Report.objects.bulk_create([report_row(f"site{index:03d}", DAY) for index in range(30)])
    first = stats_release_day(day=DAY)
    assert first is not None and first.release_number == 1
    figures = _stored_figures(DAY)
    assert stats_release_day(day=DAY) is None
    assert _stored_figures(DAY) == figures
    assert StatsRelease.objects.get(day=DAY).release_number == 1
    assert not AuditEvent.objects.filter(action="stats.re_released").exists()
