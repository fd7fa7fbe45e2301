"""Aggregate the daily sizes into weekly/monthly/quarterly roll-ups (backfill with --from/--to).
Daily values are read from the daily sizes, never aggregated: ``--period daily`` says so and exits 0."""

import datetime as dt

from django.core.management.base import CommandError

from capacity.models import PeriodType, StoredPeriodType
from capacity.services import capacity_aggregate_all
from capacity.services.aggregation import DAILY_IS_READ, LEVELS
from sync_sessions.commands import BatchCommand
from sync_sessions.models import RECORD_SUCCEEDED


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"Not a YYYY-MM-DD date: {value!r}") from exc


class Command(BatchCommand):
    help = (
        "Compute the weekly/monthly/quarterly capacity roll-ups of instances (inline by default, --enqueue for the "
        "cluster). Without --from/--to: every period that contains yesterday or today (a period that ended "
        "yesterday is finalized). Daily values are read from the daily sizes: --period daily only says so."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--period", choices=[*PeriodType.values, "all"], default="all",
            help="Default: all (weekly, monthly and quarterly). daily: nothing to run (read from the daily sizes).",
        )  # fmt: skip
        parser.add_argument("--from", dest="date_from", type=_day, metavar="YYYY-MM-DD", help="First day (inclusive).")
        parser.add_argument("--to", dest="date_to", type=_day, metavar="YYYY-MM-DD", help="Last day (inclusive).")

    def handle(self, *args, period, date_from, date_to, **options):
        if period == PeriodType.DAILY:
            # an old cron line or script asking for daily roll-ups is not an error: there is just nothing to do
            self.stdout.write(DAILY_IS_READ)
            return
        self.request = {
            "period_types": StoredPeriodType.values if period == "all" else [period],
            "start": date_from,
            "end": date_to,
        }
        super().handle(*args, **options)

    def run_batch(self, **kwargs):
        return capacity_aggregate_all(**self.request, **kwargs)

    def progress_note(self, record) -> str:
        details = (record.sync_details or {}) if record.status in RECORD_SUCCEEDED else {}
        if details.get("no_samples"):
            return "  (no samples in these periods)"
        rows = {level: sum(c["computed"] for c in details.get(level, {}).values()) for level in LEVELS}
        if not details:
            return ""
        return (f"  (rows: database {rows['database']}, instance {rows['instance']}; "
                f"written {details.get('rows_written', 0)})")  # fmt: skip
