"""The forecast's straight line computed in the database, set-based (no per-series Python).

``capacity/forecast.py`` fits, in Python, one series at a time: least squares over the samples of
the window that follow the last step change (a change between consecutive samples larger than
``step_fraction`` of the earlier one and than ``step_min_bytes``: the "last ramp"), with at least
``MIN_SAMPLES`` samples. ``RAMP_FIT`` is the same fit for many series in one statement:
``regr_slope``/``regr_intercept`` are that least-squares line. Two users:

- the collection stores each database's fit on its ``database_size_current`` row, in the same
  statement that writes its current size (``INSTANCE_DATABASE_FITS``), so reading the growth of
  every database is reading that table (``GET /metrics``);
- ``instance_growth_fits``: every instance's fit from its daily totals, in one query.

Equal to ``size_forecast``'s slope and line (tests/capacity/test_trends.py compares them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection

from capacity.forecast import DEFAULT_WINDOW_DAYS, MIN_SAMPLES
from capacity.selectors import forecast_options

# {series}: a query of (instance_id, key, day, size) rows — the window's samples of each series.
# x is the day's offset from %(today)s; the ramp starts at the sample after the last step.
RAMP_FIT = """
SELECT instance_id, key, count(*) AS samples, regr_slope(size, day - %(today)s::date) AS slope,
       regr_intercept(size, day - %(today)s::date) AS intercept, max(day) AS last_day,
       (array_agg(size ORDER BY day DESC))[1] AS last_size
FROM (
    SELECT instance_id, key, day, size,
           max(CASE WHEN step THEN day END) OVER (PARTITION BY instance_id, key) AS ramp_start
    FROM (
        SELECT instance_id, key, day, size,
               abs(size - previous) > %(step_fraction)s::float8 * previous
               AND abs(size - previous) >= %(step_min_bytes)s::bigint AS step
        FROM (
            SELECT instance_id, key, day, size,
                   lag(size) OVER (PARTITION BY instance_id, key ORDER BY day) AS previous
            FROM ({series}) series
        ) ordered
    ) steps
) ramps
WHERE ramp_start IS NULL OR day >= ramp_start
GROUP BY 1, 2
"""

_INSTANCE_DATABASES_WINDOW = """
SELECT s.instance_id, s.database_name AS key, s.collected_date AS day, s.size_bytes AS size
FROM database_size_stats s
WHERE s.instance_id = %(iid)s AND s.collected_date BETWEEN %(first)s AND %(today)s
"""

# Each database of the instance %(iid)s with its fit (NULL below MIN_SAMPLES on the ramp): the
# slope in bytes/day and the line's value on the latest sample's day. The collection joins it into
# its upsert of the current sizes, after it has written today's samples, inside its transaction.
INSTANCE_DATABASE_FITS = f"""
SELECT f.key, f.samples,
       CASE WHEN f.samples >= {MIN_SAMPLES} THEN f.slope END AS slope,
       CASE WHEN f.samples >= {MIN_SAMPLES} THEN f.intercept + f.slope * (f.last_day - %(today)s::date) END AS line
FROM ({RAMP_FIT.format(series=_INSTANCE_DATABASES_WINDOW)}) f
"""

_INSTANCE_TOTALS_WINDOW = """
SELECT s.instance_id, '' AS key, s.collected_date AS day, s.total_size_bytes AS size
FROM instance_size_stats s JOIN instances i ON i.id = s.instance_id AND i.deleted_at IS NULL
WHERE s.collected_date BETWEEN %(first)s AND %(today)s
"""


def fit_params(*, today: dt.date, window_days: int = DEFAULT_WINDOW_DAYS) -> dict:
    """Parameters of ``RAMP_FIT`` for the window of ``window_days`` days ending ``today``, with the
    forecast's step detection (``capacity.selectors.forecast_options``)."""
    return {"today": today, "first": today - dt.timedelta(days=window_days - 1), **forecast_options()}


@dataclass(frozen=True)
class TrendFit:
    """A series' forecast line: ``samples`` on the last ramp, ``bytes_per_day`` (None below
    ``MIN_SAMPLES``), the line's size on the last sample's day and that sample's size."""

    samples: int
    bytes_per_day: float | None
    line_bytes: float | None
    last_bytes: int


_INSTANCE_FITS = f"""
SELECT f.instance_id, f.samples, f.slope, f.intercept + f.slope * (f.last_day - %(today)s::date), f.last_size
FROM ({RAMP_FIT.format(series=_INSTANCE_TOTALS_WINDOW)}) f
"""


def instance_growth_fits(*, today: dt.date) -> dict[int, TrendFit]:
    """Every (not deleted) instance's fit over its daily totals of the forecast window (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(_INSTANCE_FITS, fit_params(today=today))
        rows = cursor.fetchall()
    return {
        iid: TrendFit(samples, slope if samples >= MIN_SAMPLES else None,
                      line if samples >= MIN_SAMPLES else None, last)  # fmt: skip
        for iid, samples, slope, line, last in rows
    }
