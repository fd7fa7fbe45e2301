"""Roll-up periods (pure: no ORM): daily, weekly (ISO, Monday start), monthly, quarterly.
Weekly, monthly and quarterly are stored by the aggregation; daily values are read from the
daily sizes (their one-day periods still use these functions for the pages' windows).

``period_start`` is a period's first day and ``period_end`` its last day
(inclusive), both dates in ``WHALEFALL_TIME_ZONE`` (settings.TIME_ZONE), the
zone ``collected_date`` is written in. The SQL of the aggregation groups with
``date_trunc(TRUNC_UNIT[type], day::timestamp)``, which agrees with
``period_floor`` here (tests/capacity/test_periods.py checks both on the same days).
"""

from __future__ import annotations

import datetime as dt

from capacity.models import PeriodType

#: ``date_trunc`` field of each period type (PostgreSQL's 'week' is the ISO week, Monday start)
TRUNC_UNIT: dict[str, str] = {
    PeriodType.DAILY: "day",
    PeriodType.WEEKLY: "week",
    PeriodType.MONTHLY: "month",
    PeriodType.QUARTERLY: "quarter",
}
#: length of each period type as a PostgreSQL interval (period_start + it = the next period's start)
INTERVAL: dict[str, str] = {
    PeriodType.DAILY: "1 day",
    PeriodType.WEEKLY: "7 days",
    PeriodType.MONTHLY: "1 month",
    PeriodType.QUARTERLY: "3 months",
}
_MONTHS = {PeriodType.MONTHLY: 1, PeriodType.QUARTERLY: 3}


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def period_floor(period_type: str, day: dt.date) -> dt.date:
    """First day of the period of ``period_type`` that contains ``day``."""
    if period_type == PeriodType.DAILY:
        return day
    if period_type == PeriodType.WEEKLY:
        return day - dt.timedelta(days=day.weekday())
    if period_type == PeriodType.MONTHLY:
        return day.replace(day=1)
    if period_type == PeriodType.QUARTERLY:
        return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    raise ValueError(f"unknown period type {period_type!r}")


def period_shift(period_type: str, start: dt.date, periods: int) -> dt.date:
    """Start of the period ``periods`` after (negative: before) the one starting at ``start``."""
    if period_type == PeriodType.DAILY:
        return start + dt.timedelta(days=periods)
    if period_type == PeriodType.WEEKLY:
        return start + dt.timedelta(weeks=periods)
    return _add_months(start, periods * _MONTHS[period_type])


def period_end(period_type: str, start: dt.date) -> dt.date:
    """Last day (inclusive) of the period starting at ``start``."""
    return period_shift(period_type, start, 1) - dt.timedelta(days=1)


def period_starts(period_type: str, start: dt.date, end: dt.date) -> list[dt.date]:
    """Starts of every period of ``period_type`` that contains a day of ``[start, end]``, oldest first."""
    first, last = period_floor(period_type, start), period_floor(period_type, end)
    starts = []
    while first <= last:
        starts.append(first)
        first = period_shift(period_type, first, 1)
    return starts
