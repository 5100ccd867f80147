import time
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ingest.models import StatsRelease
from ingest.services import (
    rollup_day,
    rollups_refresh_statistics,
    stats_last_releasable_day,
    stats_release_day,
)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = (
        "Roll up UTC days of reports (inclusive range): exact rollups for maintainers, "
        "replaced on every run, and the public release of each closed day not yet released. "
        "A day already released keeps its public figures unless --re-release is given, "
        "which draws new noise and spends the day's privacy budget again (audited)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", type=_date, help="First day (YYYY-MM-DD).")
        parser.add_argument("--to", dest="last", type=_date, help="Last day, default today.")
        parser.add_argument(
            "--re-release",
            action="store_true",
            help="Release days already released again: new noise, budget spent again.",
        )

    def handle(self, *args, first: date | None, last: date | None, re_release: bool, **options):
        last = last or timezone.now().date()
        first = first or last
        if first > last:
            raise CommandError("--from must not be after --to")
        releasable = stats_last_releasable_day()
        released_before = set(
            StatsRelease.objects.filter(day__range=(first, last)).values_list("day", flat=True)
        )
        if re_release and not released_before:
            raise CommandError("--re-release: no day in this range has been released.")
        started = time.perf_counter()
        day, rolled, released, again, kept = first, 0, 0, 0, []
        while day <= last:
            tick = time.perf_counter()
            result = rollup_day(day=day)
            rolled += 1
            note = "exact rollup only (not closed yet)"
            if day <= releasable:
                if day in released_before and not re_release:
                    kept.append(day)
                    note = "already released: public figures kept"
                elif stats_release_day(day=day, again=re_release) is None:
                    note = "released meanwhile by another process: public figures kept"
                elif day in released_before:
                    again += 1
                    note = "re-released"
                else:
                    released += 1
                    note = "released"
            if options["verbosity"] >= 2:
                self.stdout.write(
                    f"{day}: {result.reports} reports, {note}, {time.perf_counter() - tick:.2f}s"
                )
            day += timedelta(days=1)
        if rolled > 1:
            rollups_refresh_statistics()
        elapsed = time.perf_counter() - started
        if options["verbosity"] >= 1:
            self.stdout.write(
                f"Rolled up {rolled} day(s) from {first} to {last} in {elapsed:.1f}s; "
                f"released {released}, re-released {again}."
            )
            if kept:
                self.stdout.write(
                    f"{len(kept)} day(s) were already released and keep their public figures "
                    "(pass --re-release to draw them again, spending their budget again)."
                )
            if last > releasable:
                self.stdout.write(
                    f"Days after {releasable} are not released yet: a day is released "
                    "once it has closed and its grace period has passed."
                )
