"""The public release of a day's statistics: once, after the day closed, with noise.

A UTC day is released when it has closed and its grace period (STATS_RELEASE_DELAY_HOURS)
has passed. The release counts the day's reports with each installation's contribution
bounded, draws the noise once through ingest.privacy, and stores the figures. Nothing
later changes them: late reports, erasures, rolling the day up again and the hourly task
leave a released day as it is. Only an operator's explicit re-release draws again, which
spends the day's privacy budget a second time; it is audited.
"""

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ingest import privacy
from ingest.dimensions import DIMENSIONS
from ingest.models import PublicFigure, Report, StatsRelease
from ingest.services.rollups import DEFINITION_COLUMNS, count_partitions
from portal.services import audit_event_record


class DayNotClosed(ValueError):
    """The day is today, in the future, or still in its grace period."""


def stats_release_opens(day: date) -> datetime:
    """When a day's figures may be released: its end plus the grace period."""
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)
    return end + timedelta(hours=settings.STATS_RELEASE_DELAY_HOURS)


def stats_last_releasable_day(now: datetime | None = None) -> date:
    now = now or timezone.now()
    return (now - timedelta(hours=settings.STATS_RELEASE_DELAY_HOURS)).date() - timedelta(days=1)


def bounded_counts(day: date) -> dict[str, dict[str, int]]:
    """Installations per label of every dimension, each report bounded as ingest.privacy says."""
    counts = count_partitions(day)
    multi: dict[str, dict[str, int]] = {key: defaultdict(int) for key in DEFINITION_COLUMNS}
    multi["addon"] = defaultdict(int)
    columns = ("platform_id", "addons", *DEFINITION_COLUMNS.values())
    rows = Report.objects.filter(report_date=day).values_list(*columns)
    for platform_id, addons, *definitions in rows.iterator(chunk_size=5000):
        enabled = [name for name, status in (addons or {}).items() if status == "enabled"]
        key = f"{platform_id}:{day.isoformat()}"
        for name in privacy.bound_names(enabled, bound=privacy.ADDON_BOUND, key=key):
            multi["addon"][name] += 1
        for dimension, names in zip(DEFINITION_COLUMNS, definitions, strict=True):
            for name in privacy.bound_names(names or [], bound=privacy.DEFINITION_BOUND):
                multi[dimension][name] += 1
    counts.update({key: dict(values) for key, values in multi.items()})
    return counts


def _draw(day: date) -> list[PublicFigure]:
    counts = bounded_counts(day)
    return [
        PublicFigure(day=day, dimension=dimension, label=label, value=value)
        for dimension in DIMENSIONS
        for label, value in privacy.release_counts(dimension, counts[dimension]).items()
    ]


def stats_release_day(
    *, day: date, again: bool = False, actor_label: str = ""
) -> StatsRelease | None:
    """Release one closed day; None when it was already released and ``again`` is not set.

    ``again`` (an operator's re-release) replaces the figures with a new draw, spends the
    day's budget again, and is audited.
    """
    now = timezone.now()
    if now < stats_release_opens(day):
        raise DayNotClosed(
            f"{day} is not released before {stats_release_opens(day):%Y-%m-%d %H:%M} UTC "
            f"(the day must close, then {settings.STATS_RELEASE_DELAY_HOURS} hours of grace)"
        )
    spent = privacy.budget()["per_day"]
    try:
        with transaction.atomic():
            existing = StatsRelease.objects.select_for_update().filter(day=day).first()
            if existing is not None and not again:
                return None
            if connection.vendor == "postgresql":
                # as rollup_day: compiling the day's JSON queries costs more than it saves
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL jit = off")
            figures = _draw(day)
            PublicFigure.objects.filter(day=day).delete()
            PublicFigure.objects.bulk_create(figures, batch_size=2000)
            if existing is None:
                return StatsRelease.objects.create(
                    day=day,
                    released_at=now,
                    rho=spent["rho"],
                    delta=spent["delta"],
                    noise_scale=privacy.NOISE_SCALE,
                    threshold=privacy.THRESHOLD,
                )
            before = {"release_number": existing.release_number, "rho": existing.rho}
            existing.release_number += 1
            existing.released_at = now
            existing.rho += spent["rho"]
            existing.delta += spent["delta"]
            existing.save()
            audit_event_record(
                action="stats.re_released",
                actor_label=actor_label or "operator (manage.py rollup --re-release)",
                target_type="stats_day",
                target_id=day.isoformat(),
                before=before,
                after={"release_number": existing.release_number, "rho": existing.rho},
            )
            return existing
    except IntegrityError:  # another process released the day first
        return None


def stats_release_due(*, now: datetime | None = None) -> list[StatsRelease]:
    """Release the closed days of the last STATS_RELEASE_CATCH_UP_DAYS not yet released.

    Which days are released depends on the calendar only, never on the reports. Older
    days are released by an operator (``manage.py rollup --from --to``).
    """
    last = stats_last_releasable_day(now)
    first = last - timedelta(days=settings.STATS_RELEASE_CATCH_UP_DAYS - 1)
    done = set(StatsRelease.objects.filter(day__range=(first, last)).values_list("day", flat=True))
    released = []
    day = first
    while day <= last:
        if day not in done:
            release = stats_release_day(day=day)
            if release is not None:
                released.append(release)
        day += timedelta(days=1)
    return released


def stats_releases_delete_before(*, cutoff: date) -> int:
    deleted, _ = PublicFigure.objects.filter(day__lt=cutoff).delete()
    StatsRelease.objects.filter(day__lt=cutoff).delete()
    return deleted
