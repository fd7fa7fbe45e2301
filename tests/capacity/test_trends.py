"""The forecast line computed in the database (capacity/trends.py) equals capacity/forecast.py's."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from capacity.models import DatabaseSizeCurrent, DatabaseSizeStat, InstanceSizeStat
from capacity.selectors import series_forecast
from capacity.services import capacity_apply
from capacity.trends import instance_growth_fits
from instances.adapters.base import DatabaseSize
from tests.capacity.conftest import ensure_partitions
from tests.support.factories import make_instance

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 7)
NOW = timezone.make_aware(dt.datetime(2026, 12, 7, 9, 0))
MIB = 2**20

# name → size on (days before today): a line, a noisy line with gaps, a drop 20 days ago (a step), a
# jump 3 days ago (too few samples since: collecting), shrinking, and flat
SERIES = {
    "line": lambda back: 5000 * MIB - back * 7 * MIB,
    "noisy": lambda back: None if back % 6 == 3 else 900 * MIB - back * 3 * MIB + (back * 7919 % 13) * MIB // 4,
    "dropped": lambda back: 300 * MIB + (20 - back) * MIB if back < 20 else 3000 * MIB,
    "jumped": lambda back: 9000 * MIB if back < 3 else 1000 * MIB - back * MIB,
    "shrinking": lambda back: 800 * MIB + back * 2 * MIB,
    "flat": lambda back: 123 * MIB,
}


def seed(instance, series: dict) -> list[tuple[dt.date, int]]:
    """39 days of history of ``series`` (name → size by days before today), then today's collection
    through the real write path; returns the instance's daily totals."""
    history, totals = [], []
    for back in range(39, -1, -1):
        sizes = {name: size(back) for name, size in series.items() if size(back) is not None}
        totals.append((TODAY - dt.timedelta(days=back), sum(sizes.values())))
        if back == 0:
            break
        day, at = TODAY - dt.timedelta(days=back), NOW - dt.timedelta(days=back)
        history += [DatabaseSizeStat(instance=instance, database_name=name, size_bytes=size, collected_date=day,
                                     collected_at=at) for name, size in sizes.items()]  # fmt: skip
        InstanceSizeStat.objects.create(instance=instance, total_size_bytes=totals[-1][1], database_count=len(sizes),
                                        collected_date=day, collected_at=at)  # fmt: skip
    DatabaseSizeStat.objects.bulk_create(history)
    today = [DatabaseSize(name, size(0)) for name, size in series.items()]
    capacity_apply(instance=instance, inventory=list(series), sizes=today, now=NOW)
    return totals


def test_each_collection_stores_the_forecast_line_of_every_database_and_instance_fits_agree():
    ensure_partitions("database_size_stats", TODAY - dt.timedelta(days=40), TODAY)
    ensure_partitions("instance_size_stats", TODAY - dt.timedelta(days=40), TODAY)
    stepped, steady = make_instance(), make_instance()
    stepped_totals = seed(stepped, SERIES)
    steady_totals = seed(steady, {name: SERIES[name] for name in ("line", "flat")})

    stored = {c.database_name: c for c in DatabaseSizeCurrent.objects.filter(instance=stepped)}
    for name, size in SERIES.items():
        samples = [(TODAY - dt.timedelta(days=back), size(back)) for back in range(40) if size(back) is not None]
        forecast = series_forecast(samples, today=TODAY, window_days=30, limit_bytes=None)
        current = stored[name]
        assert current.forecast_samples == forecast.samples, name
        if forecast.status == "collecting":
            assert current.growth_bytes_per_day is None and current.forecast_line_bytes is None, name
            continue
        assert current.growth_bytes_per_day == pytest.approx(forecast.fit.slope, rel=1e-9, abs=1e-6), name
        assert current.forecast_line_bytes == pytest.approx(forecast.fit.intercept, rel=1e-9, abs=1e-3), name
    assert stored["jumped"].growth_bytes_per_day is None  # three samples since the jump
    assert stored["shrinking"].growth_bytes_per_day == pytest.approx(-2 * MIB)

    fits = instance_growth_fits(today=TODAY)
    for instance, totals in ((stepped, stepped_totals), (steady, steady_totals)):
        forecast = series_forecast(totals, today=TODAY, window_days=30, limit_bytes=None)
        fit = fits[instance.pk]
        assert fit.samples == forecast.samples
        if forecast.status == "collecting":
            assert fit.bytes_per_day is None
            continue
        assert fit.last_bytes == forecast.last_bytes
        assert fit.bytes_per_day == pytest.approx(forecast.fit.slope, rel=1e-9)
        assert fit.line_bytes == pytest.approx(forecast.fit.intercept, rel=1e-9)
    assert fits[stepped.pk].bytes_per_day is None and fits[steady.pk].bytes_per_day is not None
