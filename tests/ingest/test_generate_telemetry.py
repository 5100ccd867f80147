"""The synthetic fleet: what it stores, how it is shaped, and how it is loaded."""

import re
from collections import Counter
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from ingest import synthetic as gen
from ingest.catalogue import CATALOGUE, DEFINITION_KINDS, REPORT_COLUMNS
from ingest.models import PolicyElement, PolicyVersion, Report
from ingest.parsing import (
    ADDON_STATUSES,
    APP_BUCKETS,
    BROWSER_FAMILIES,
    CLUSTER_BUCKETS,
    MAX_ENTRIES,
    MAX_NAME_LENGTH,
    NAME,
    OTHER_BROWSER,
    VERSION_PART,
    parse_report,
)
from ingest.selectors import policy_get_published
from ingest.services import synthetic as loading

pytestmark = pytest.mark.django_db

END = date(2026, 1, 31)
SMALL = {"installations": 60, "days": 21, "seed": 7}
FIELDS = ("platform_id", "report_date", "policy_version_id", "revision", *REPORT_COLUMNS)
PLATFORM_ID = re.compile(r"[bcdfghjklmnpqrstvwxz2456789]{16}")


def generate(**options) -> str:
    out = StringIO()
    options = {**SMALL, "end_date": END.isoformat(), **options}
    call_command("generate_telemetry", stdout=out, **options)
    return out.getvalue()


def stored_rows() -> list[tuple]:
    return list(Report.objects.order_by("platform_id", "report_date").values_list(*FIELDS))


def planned_rows(installations: int, days: int, seed: int, end: date = END) -> list[tuple]:
    """The rows the generator means to write, from its Python values (not its COPY text)."""
    fleet = gen.Fleet(
        installations=installations, days=days, end=end, seed=seed, policy=policy_get_published()
    )
    rows = []
    for inst, day, browser, segment in gen.daily_reports(fleet):
        values = {
            "platform_id": inst.platform_id,
            "report_date": fleet.dates[day],
            "policy_version_id": fleet.policy_version_id,
            "revision": 1,
            "browser_family": browser.family,
            "browser_major_version": browser.majors[day],
            "screen_width": browser.width,
            **segment.values,
        }
        rows.append(tuple(values[field] for field in FIELDS))
    return sorted(rows, key=lambda row: (row[0], row[1]))


def velaux_payload(report: Report) -> dict:
    """The body VelaUX would have sent for ``report``, quirks included."""
    payload = {
        "platformID": report.platform_id,
        "installTime": f"{report.install_date}T08:15:42.123456789Z",
        "version": f"{report.release or ''}NaN{report.git_commit or ''}",
        "clusterCount": report.cluster_count_bucket or "",
        "appCount": report.app_count_bucket or "",
        "enableAddonList": report.addons,
        "browserInfo": {
            "language": "en-US",
            "nameAndVersion": browser_string(report.browser_family, report.browser_major_version),
            "screenWidth": report.screen_width,
            "screenHeight": 1080,
        },
    }
    for kind in DEFINITION_KINDS:
        if getattr(report, kind.column):  # VelaUX leaves the key out when the list is empty
            payload[kind.client_field] = getattr(report, kind.column)
    return payload


def browser_string(family: str, major: int | None) -> str:
    if family == "safari":
        return "safari/605.1.15"  # the WebKit build, which the receiver does not keep
    if family == OTHER_BROWSER:
        return "unknownbrowser"
    return f"{family}{major}.0.0.0"


@pytest.fixture
def fleet_rows() -> list[Report]:
    """A fleet big enough for its shape to show: a few thousand rows over two months."""
    generate(installations=300, days=60, seed=3)
    return list(Report.objects.all())


# --- what it stores ------------------------------------------------------------------------


def test_it_stores_exactly_the_planned_rows():
    output = generate()
    rows = stored_rows()
    assert rows == planned_rows(**SMALL)
    assert f"Generated {len(rows):,} reports ({len(rows):,} inserted, 0 already present)" in output


@pytest.mark.slow  # fleet_rows generates thousands of rows
def test_every_row_is_what_the_receiver_stores_for_the_velaux_report(fleet_rows):
    approved = frozenset(CATALOGUE)
    for report in fleet_rows:
        parsed = parse_report(velaux_payload(report), approved)
        assert parsed.platform_id == report.platform_id
        assert parsed.columns == {column: getattr(report, column) for column in REPORT_COLUMNS}


@pytest.mark.slow  # fleet_rows generates thousands of rows
def test_json_columns_have_the_receivers_shapes(fleet_rows):
    for report in fleet_rows:
        assert isinstance(report.addons, dict)
        assert len(report.addons) <= MAX_ENTRIES
        assert set(report.addons.values()) <= set(ADDON_STATUSES)
        for kind in DEFINITION_KINDS:
            names = getattr(report, kind.column)
            assert isinstance(names, list)
            assert len(names) <= 5
            assert len(set(names)) == len(names)


@pytest.mark.slow  # fleet_rows generates thousands of rows
def test_values_come_from_the_allowed_sets(fleet_rows):
    policy = policy_get_published()
    releases = set(gen.RELEASES)
    for report in fleet_rows:
        assert PLATFORM_ID.fullmatch(report.platform_id)
        assert report.cluster_count_bucket is None or report.cluster_count_bucket in CLUSTER_BUCKETS
        assert report.app_count_bucket is None or report.app_count_bucket in APP_BUCKETS
        assert report.release in releases
        assert report.git_commit is None or re.fullmatch(r"git-[0-9a-f]{7}", report.git_commit)
        assert report.browser_family in BROWSER_FAMILIES | {OTHER_BROWSER}
        if report.browser_family in ("safari", OTHER_BROWSER):
            assert report.browser_major_version is None  # Safari's number is WebKit's
        assert report.install_date <= report.report_date
        assert (report.policy_version_id, report.revision) == (policy.pk, 1)
    buckets = {report.cluster_count_bucket for report in fleet_rows}
    assert None in buckets, "a small share of reports comes before the first daily count"
    assert buckets - {None} <= {label for label, _ in gen.CLUSTER_BUCKETS}, "current set only"


@pytest.mark.slow  # fleet_rows generates thousands of rows
def test_one_row_per_installation_and_active_day(fleet_rows):
    keys = [(report.platform_id, report.report_date) for report in fleet_rows]
    assert len(keys) == len(set(keys))
    installations = {report.platform_id for report in fleet_rows}
    assert len(installations) <= 300
    assert len(fleet_rows) < len(installations) * 60, "not every installation reports every day"
    dates = {report.report_date for report in fleet_rows}
    assert min(dates) == END - timedelta(days=59)
    assert max(dates) == END


# --- how the fleet is shaped ----------------------------------------------------------------


@pytest.mark.slow  # fleet_rows generates thousands of rows
def test_installations_appear_and_churn(fleet_rows):
    first_day, last_day = END - timedelta(days=59), END
    spans: dict[str, list[date]] = {}
    for report in fleet_rows:
        spans.setdefault(report.platform_id, []).append(report.report_date)
    firsts = [min(days) for days in spans.values()]
    lasts = [max(days) for days in spans.values()]
    assert sum(day > first_day + timedelta(days=20) for day in firsts) > 30, "staggered start"
    assert sum(day < last_day - timedelta(days=20) for day in lasts) > 10, "some churn away"
    new = [r for r in fleet_rows if r.report_date == min(spans[r.platform_id]) > first_day]
    assert sum(r.install_date == r.report_date for r in new) > len(new) / 2


@pytest.mark.slow  # fleet_rows generates thousands of rows
def test_releases_are_adopted_over_time(fleet_rows):
    first_day, last_day = END - timedelta(days=59), END
    in_period = [r for r in gen.release_timeline(60) if 0 <= r.day < 60]
    newest = in_period[-1].name
    assert len(in_period) >= 2

    def shares(day: date) -> Counter:
        return Counter(r.release for r in fleet_rows if r.report_date == day)

    start, end = shares(first_day), shares(last_day)
    assert start[newest] == 0
    assert end[newest] / end.total() > 0.2
    assert start.most_common(1)[0][0] != end.most_common(1)[0][0]
    assert len(end) >= 5, "a long tail of installations stays on older releases"


@pytest.mark.slow  # fleet_rows generates thousands of rows
def test_popularity_is_long_tailed(fleet_rows):
    families = Counter(r.browser_family for r in fleet_rows)
    assert families.most_common(1)[0][0] == "chrome"
    assert families["chrome"] / families.total() > 0.5
    assert {"firefox", "safari", OTHER_BROWSER} <= set(families)
    assert Counter(r.cluster_count_bucket for r in fleet_rows).most_common(1)[0][0] == "<3"
    assert Counter(r.app_count_bucket for r in fleet_rows).most_common(1)[0][0] == "<10"

    addons = Counter(name for r in fleet_rows for name in r.addons)
    ranked = [name for name, _ in addons.most_common()]
    assert ranked[:2] == ["velaux", "fluxcd"]
    assert addons["velaux"] > 0.9 * len(fleet_rows)
    assert len(addons) > 25, "a long tail of rarely enabled addons"
    statuses = Counter(status for r in fleet_rows for status in r.addons.values())
    assert statuses["enabled"] / statuses.total() > 0.95
    assert statuses["enabling"] > 0

    components = Counter(n for r in fleet_rows for n in r.component_definitions)
    assert components.most_common(1)[0][0] == "webservice"
    policies = Counter(n for r in fleet_rows for n in r.policy_definitions)
    assert policies.most_common(1)[0][0] == "topology"


@pytest.mark.slow  # fleet_rows generates thousands of rows
def test_definitions_need_the_addon_that_provides_them(fleet_rows):
    ever_enabled: dict[str, set[str]] = {}
    for report in fleet_rows:
        ever_enabled.setdefault(report.platform_id, set()).update(report.addons)
    provided = 0
    for report in fleet_rows:
        for kind in DEFINITION_KINDS:
            for name in getattr(report, kind.column):
                provider = gen.DEFINITION_PROVIDERS.get(name)
                if provider is not None:
                    provided += 1
                    assert provider in ever_enabled[report.platform_id]
    assert provided > 0


def test_the_catalogue_of_names_is_what_the_receiver_accepts():
    names = [*gen.ADDONS, gen.VELAUX, *gen.COMPONENTS, *gen.TRAITS]
    names += [*gen.WORKFLOW_STEPS, *gen.POLICIES]
    for name in names:
        assert NAME.fullmatch(name)
        assert len(name) <= MAX_NAME_LENGTH
    assert len(set(gen.ADDONS) | {gen.VELAUX}) >= 40
    assert all(VERSION_PART.fullmatch(release) for release in gen.RELEASES)
    assert {label for label, _ in gen.CLUSTER_BUCKETS} <= CLUSTER_BUCKETS
    assert {label for label, _ in gen.APP_BUCKETS} == APP_BUCKETS


def test_every_report_column_is_generated():
    generated = {*gen.STATIC_COLUMNS, *gen.BROWSER_COLUMNS}
    generated |= {column for group in gen.PATH_COLUMNS for column in group}
    assert generated == set(REPORT_COLUMNS)
    assert sorted(gen.COPY_COLUMNS) == sorted(FIELDS)


# --- seeds, re-runs and options -------------------------------------------------------------


def test_the_same_seed_gives_the_same_fleet():
    generate()
    first = stored_rows()
    Report.objects.all().delete()
    generate()
    assert stored_rows() == first
    Report.objects.all().delete()
    generate(seed=8)
    other = stored_rows()
    assert {row[0] for row in other}.isdisjoint({row[0] for row in first})


def test_a_bigger_fleet_keeps_the_smaller_ones_installations():
    generate(installations=30)
    small = stored_rows()
    output = generate(installations=60)
    kept = {row[0] for row in small}
    assert [row for row in stored_rows() if row[0] in kept] == small
    assert stored_rows() == planned_rows(**SMALL)
    assert f"{len(small):,} already present" in output


def test_a_rerun_skips_existing_rows_and_fills_gaps():
    generate()
    rows = stored_rows()
    removed = Report.objects.filter(report_date=END - timedelta(days=3))
    gap = removed.count()
    removed.delete()
    output = generate()
    assert stored_rows() == rows
    assert f"({gap:,} inserted, {len(rows) - gap:,} already present)" in output
    output = generate()
    assert f"(0 inserted, {len(rows):,} already present)" in output


def test_if_empty_does_nothing_once_reports_exist():
    output = generate(if_empty=True)
    count = Report.objects.count()
    assert count > 0
    assert "inserted" in output
    output = generate(if_empty=True, seed=99, end_date="2025-06-30")
    assert Report.objects.count() == count
    assert "nothing generated" in output


def test_the_period_ends_yesterday_utc_by_default():
    out = StringIO()
    call_command("generate_telemetry", installations=20, days=1, stdout=out)
    yesterday = timezone.now().date() - timedelta(days=1)
    assert set(Report.objects.values_list("report_date", flat=True)) == {yesterday}


def test_batch_size_does_not_change_the_rows():
    generate(batch_size=7)
    assert stored_rows() == planned_rows(**SMALL)


def test_unapproved_elements_are_stored_as_null():
    policy = policy_get_published()
    PolicyElement.objects.filter(policy_version=policy, key="browserInfo").update(
        decision=PolicyElement.Decision.REJECTED, rejection_reason="test"
    )
    generate()
    browser = Report.objects.values_list(*CATALOGUE["browserInfo"].columns).distinct()
    assert list(browser) == [(None, None, None)]
    assert Report.objects.filter(release__isnull=False).exists()


def test_it_needs_a_published_policy():
    PolicyVersion.objects.update(status=PolicyVersion.Status.SUPERSEDED)
    with pytest.raises(CommandError, match="No published policy"):
        generate()
    assert not Report.objects.exists()


@pytest.mark.parametrize(
    "options",
    [{"installations": 0}, {"days": -1}, {"end_date": "2026-02-30"}, {"batch_size": 0}],
)
def test_it_refuses_bad_options(options):
    option = "--" + next(iter(options)).replace("_", "-")
    with pytest.raises(CommandError, match=option):
        generate(**options)
    assert not Report.objects.exists()


def test_verbosity():
    assert generate(verbosity=0) == ""
    Report.objects.all().delete()
    lines = generate(verbosity=1).splitlines()
    assert len(lines) == 1
    assert re.fullmatch(
        r"Generated [\d,]+ reports \([\d,]+ inserted, 0 already present\) from 60 "
        r"installations over 21 days \(2026-01-11 to 2026-01-31\) in [\d.]+ s "
        r"\([\d,]+ rows/s\)\.",
        lines[0],
    )
    Report.objects.all().delete()
    assert "Releases during the period: " in generate(verbosity=2)


# --- PostgreSQL: COPY -----------------------------------------------------------------------


@pytest.fixture
def copy_statements(monkeypatch) -> list[str]:
    """Records the COPY statements the command runs, letting them run."""
    statements: list[str] = []
    real = loading.copy_rows

    def spy(cursor, sql, fleet, batch_size):
        statements.append(sql)
        return real(cursor, sql, fleet, batch_size)

    monkeypatch.setattr(loading, "copy_rows", spy)
    return statements


def test_postgresql_copies_into_an_empty_period_directly(postgres, copy_statements):
    generate()
    assert copy_statements == [loading.COPY_SQL]
    assert stored_rows() == planned_rows(**SMALL)


def test_postgresql_rerun_copies_through_a_stage(postgres, copy_statements):
    generate()
    Report.objects.filter(report_date=END).delete()
    generate()
    assert copy_statements == [loading.COPY_SQL, loading.COPY_STAGE_SQL]
    assert stored_rows() == planned_rows(**SMALL)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [loading.STAGE_TABLE])
        assert cursor.fetchone() == (None,), "the stage is dropped"


def test_postgresql_falls_back_to_the_stage_on_a_conflict(postgres, copy_statements, monkeypatch):
    """A report arriving between the emptiness check and COPY must not fail the load."""
    generate(installations=30)
    monkeypatch.setattr(loading, "PERIOD_HAS_REPORTS_SQL", "SELECT %s::date IS NULL AND %s IS NULL")
    output = generate()
    assert copy_statements == [loading.COPY_SQL, loading.COPY_SQL, loading.COPY_STAGE_SQL]
    assert stored_rows() == planned_rows(**SMALL)
    assert "already present" in output


def test_postgresql_copy_stores_json_as_jsonb(postgres):
    generate()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT jsonb_typeof(addons), jsonb_typeof(component_definitions) "
            "FROM ingest_report"
        )
        assert cursor.fetchall() == [("object", "array")]
