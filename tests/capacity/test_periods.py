"""Period arithmetic in Python agrees with the SQL grouping (date_trunc) on the awkward days."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from capacity.periods import TRUNC_UNIT, period_end, period_floor, period_shift, period_starts

D = dt.date


@pytest.mark.parametrize(
    ("period_type", "day", "start", "end"),
    [
        ("daily", D(2026, 1, 1), D(2026, 1, 1), D(2026, 1, 1)),
        # ISO week 1 of 2026 starts on Monday 2025-12-29 and crosses the year
        ("weekly", D(2025, 12, 29), D(2025, 12, 29), D(2026, 1, 4)),
        ("weekly", D(2026, 1, 4), D(2025, 12, 29), D(2026, 1, 4)),
        ("weekly", D(2026, 1, 5), D(2026, 1, 5), D(2026, 1, 11)),
        ("monthly", D(2024, 2, 29), D(2024, 2, 1), D(2024, 2, 29)),
        ("monthly", D(2025, 12, 31), D(2025, 12, 1), D(2025, 12, 31)),
        ("quarterly", D(2025, 12, 31), D(2025, 10, 1), D(2025, 12, 31)),
        ("quarterly", D(2026, 1, 1), D(2026, 1, 1), D(2026, 3, 31)),
        ("quarterly", D(2026, 6, 30), D(2026, 4, 1), D(2026, 6, 30)),
    ],
)
def test_period_bounds(period_type, day, start, end):
    assert period_floor(period_type, day) == start
    assert period_end(period_type, start) == end
    assert period_shift(period_type, start, 1) == end + dt.timedelta(days=1)


@pytest.mark.django_db
def test_sql_grouping_agrees_with_python_on_every_day_of_two_years():
    days = [D(2024, 12, 1) + dt.timedelta(days=i) for i in range(760)]
    for period_type, unit in TRUNC_UNIT.items():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT d, date_trunc(%s, d::timestamp)::date FROM unnest(%s::date[]) AS t(d) ORDER BY d", [unit, days]
            )
            assert [(d, period_floor(period_type, d)) for d in days] == cursor.fetchall(), period_type


def test_period_starts_cover_the_range():
    assert period_starts("weekly", D(2025, 12, 31), D(2026, 1, 6)) == [D(2025, 12, 29), D(2026, 1, 5)]
    assert period_starts("quarterly", D(2025, 11, 15), D(2026, 4, 1)) == [D(2025, 10, 1), D(2026, 1, 1), D(2026, 4, 1)]
    assert period_starts("monthly", D(2026, 1, 6), D(2026, 1, 6)) == [D(2026, 1, 1)]
    assert period_shift("monthly", D(2026, 1, 1), -1) == D(2025, 12, 1)
