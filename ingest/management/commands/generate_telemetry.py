"""``manage.py generate_telemetry``: fill ``ingest_report`` with a synthetic fleet.

The fleet's model is ``ingest.synthetic``; loading it, ``ingest.services.synthetic``.
This command reads the options, finds the published policy and reports what was done.
"""

import time
from argparse import ArgumentTypeError
from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from ingest.models import Report
from ingest.selectors import policy_get_published
from ingest.services.synthetic import fleet_load
from ingest.synthetic import Fleet


def iso_date(value: str | date) -> date:
    """argparse type of --end-date."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise ArgumentTypeError(f"{value!r} is not a date like 2026-01-31") from exc


def positive(value: str | int) -> int:
    """argparse type of the counts."""
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise ArgumentTypeError(f"{value!r} is not a whole number") from exc
    if number < 1:
        raise ArgumentTypeError(f"{value!r} is less than 1")
    return number


CHECKS = {"installations": positive, "days": positive, "end_date": iso_date, "batch_size": positive}


def checked(options: dict[str, Any]) -> dict[str, Any]:
    """call_command hands optional arguments over without argparse: check them again."""
    values = {}
    for name, check in CHECKS.items():
        try:
            values[name] = check(options[name])
        except ArgumentTypeError as exc:
            raise CommandError(f"--{name.replace('_', '-')}: {exc}") from exc
    return values


class Command(BaseCommand):
    help = (
        "Fill ingest_report with a synthetic fleet of KubeVela installations: one report "
        "per installation per active day, over --days days ending on --end-date. "
        "Installations appear and churn, upgrade some time after each release, and use "
        "addons and definitions with long-tail popularity; rows are stored exactly as the "
        "receiver stores VelaUX reports under the published policy. The same --seed gives "
        "the same fleet, and a bigger --installations keeps the smaller fleet's "
        "installations; rows that already exist are skipped, so a re-run never fails. "
        "PostgreSQL is loaded with COPY (a million rows in about 20 s), other databases "
        "with bulk_create."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--installations", type=positive, required=True, help="Fleet size (at least 1)."
        )
        parser.add_argument(
            "--days", type=positive, required=True, help="Days of reports (at least 1)."
        )
        parser.add_argument(
            "--end-date",
            type=iso_date,
            default=None,
            help="Last report date, YYYY-MM-DD (default: yesterday, UTC).",
        )
        parser.add_argument("--seed", type=int, default=42, help="Seed of the fleet (default: 42).")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when any report exists (keeps `make run` idempotent).",
        )
        parser.add_argument(
            "--batch-size",
            type=positive,
            default=5000,
            help="Rows per COPY write or bulk_create batch (default: 5000).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = options["verbosity"]
        if options["if_empty"] and Report.objects.exists():
            if verbosity >= 1:
                self.stdout.write("Reports already exist; --if-empty: nothing generated.")
            return
        policy = policy_get_published()
        if policy is None:
            raise CommandError("No published policy: reports must record the one in force.")
        values = checked({**options, "end_date": options["end_date"] or self.yesterday()})
        started = time.perf_counter()
        fleet = Fleet(
            installations=values["installations"],
            days=values["days"],
            end=values["end_date"],
            seed=options["seed"],
            policy=policy,
        )
        if verbosity >= 2:
            self.describe(fleet)
        generated, inserted = fleet_load(fleet=fleet, batch_size=values["batch_size"])
        if verbosity >= 1:
            self.summarize(fleet, generated, inserted, time.perf_counter() - started)

    @staticmethod
    def yesterday() -> date:
        return timezone.now().date() - timedelta(days=1)  # USE_TZ: now() is in UTC

    def describe(self, fleet: Fleet) -> None:
        """Verbosity 2: the plan, so odd-looking charts can be traced to their cause."""
        in_period = [r.name for r in fleet.timeline if 0 <= r.day < len(fleet.dates)]
        loader = "COPY" if connection.vendor == "postgresql" else "bulk_create"
        self.stdout.write(
            f"Releases during the period: {', '.join(in_period) or 'none'}; loading with {loader}."
        )

    def summarize(self, fleet: Fleet, generated: int, inserted: int, seconds: float) -> None:
        skipped = generated - inserted
        self.stdout.write(
            f"Generated {generated:,} reports ({inserted:,} inserted, {skipped:,} already "
            f"present) from {len(fleet.spans):,} installations over "
            f"{len(fleet.dates)} days ({fleet.dates[0]} to {fleet.dates[-1]}) in "
            f"{seconds:.1f} s ({generated / max(seconds, 1e-9):,.0f} rows/s)."
        )
