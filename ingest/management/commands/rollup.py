import time
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ingest.services import rollup_day, rollups_refresh_statistics


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = (
        "Roll up UTC days of reports into the daily statistics tables (inclusive range). "
        "Re-running a day replaces its rollup, so backfills are safe to repeat."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", type=_date, help="First day (YYYY-MM-DD).")
        parser.add_argument("--to", dest="last", type=_date, help="Last day, default today.")

    def handle(self, *args, first: date | None, last: date | None, **options):
        last = last or timezone.now().date()
        first = first or last
        if first > last:
            raise CommandError("--from must not be after --to")
        started = time.perf_counter()
        day, rolled = first, 0
        while day <= last:
            tick = time.perf_counter()
            result = rollup_day(day=day)
            rolled += 1
            if options["verbosity"] >= 2:
                self.stdout.write(
                    f"{day}: {result.reports} reports in {time.perf_counter() - tick:.2f}s"
                )
            day += timedelta(days=1)
        if rolled > 1:
            rollups_refresh_statistics()
        elapsed = time.perf_counter() - started
        if options["verbosity"] >= 1:
            self.stdout.write(f"Rolled up {rolled} day(s) from {first} to {last} in {elapsed:.1f}s")
