"""The forecast of one series (pure module, no database): docs/capacity.md § Forecast."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from capacity.forecast import COLLECTING, MIN_SAMPLES, OK, last_ramp, size_forecast, t975

D0 = dt.date(2026, 3, 1)
GB, MB = 1024**3, 1024**2
OPTIONS = {"step_fraction": 0.1, "step_min_bytes": MB}


def series(values) -> list[tuple[dt.date, int]]:
    return [(D0 + dt.timedelta(days=i), int(v)) for i, v in enumerate(values) if v is not None]


def forecast(values, **kwargs):
    return size_forecast(series(values), window_days=30, **{**OPTIONS, **kwargs})


def test_linear_growth_slope_limit_and_band():
    f = forecast([10 * GB + 50 * MB * i for i in range(30)], limit_bytes=20 * GB)
    assert f.status == OK and f.samples == 30 and f.ramp_start == D0
    assert abs(f.bytes_per_day - 50 * MB) <= 0.01 * 50 * MB
    last = 10 * GB + 29 * 50 * MB
    # days until 20 GB from the last sample's fitted value, whole days
    assert f.days_until_limit == math.floor((20 * GB - last) / (50 * MB))
    assert f.horizon_days == 30 and f.predicted_bytes == last + 30 * 50 * MB
    assert f.band_low == f.band_high == f.predicted_bytes  # a perfect line has no residuals
    assert f.backtest_mape == 0.0


def test_noisy_growth_is_within_one_percent_and_the_band_is_honest():
    noise = [((i * 7919) % 11 - 5) * MB for i in range(30)]  # deterministic ±5 MB
    f = forecast([10 * GB + 50 * MB * i + noise[i] for i in range(30)])
    assert abs(f.bytes_per_day - 50 * MB) <= 0.01 * 50 * MB
    truth = 10 * GB + 50 * MB * (29 + 30)
    assert f.band_low < truth < f.band_high
    assert 0 < f.band_high - f.band_low < 200 * MB
    assert 0 < f.backtest_mape < 0.1


def test_collecting_below_fourteen_samples():
    f = forecast([GB + MB * i for i in range(MIN_SAMPLES - 1)], limit_bytes=2 * GB)
    assert (f.status, f.samples, f.bytes_per_day, f.days_until_limit) == (COLLECTING, 13, None, None)
    assert f.as_dict()["limit_bytes"] == 2 * GB and f.as_dict()["min_samples"] == 14
    assert forecast([GB + MB * i for i in range(MIN_SAMPLES)]).status == OK


def test_missed_days_are_gaps_not_zeros():
    values = [GB + 10 * MB * i for i in range(30)]
    for i in (3, 4, 17):
        values[i] = None
    f = forecast(values)
    assert f.samples == 27 and abs(f.bytes_per_day - 10 * MB) < 1


def test_a_cleanup_drop_is_ignored_by_the_last_ramp_fit():
    before = [40 * GB + 100 * MB * i for i in range(12)]
    after = [25 * GB + 30 * MB * i for i in range(18)]  # a purge, then slower growth
    f = forecast(before + after)
    assert f.ramp_start == D0 + dt.timedelta(days=12) and f.samples == 18
    assert abs(f.bytes_per_day - 30 * MB) <= 0.01 * 30 * MB
    # fitting through the drop would even give a negative slope
    assert last_ramp(series(before + after), **OPTIONS)[0] == (D0 + dt.timedelta(days=12), 25 * GB)


def test_a_drop_leaving_too_few_samples_is_collecting():
    f = forecast([40 * GB] * 20 + [10 * GB + MB * i for i in range(10)])
    assert (f.status, f.samples) == (COLLECTING, 10)


def test_small_changes_are_not_steps():
    # 5 % daily jumps (below 10 %) and a 50 % jump of a tiny database (below 1 MiB) are no steps
    values = [GB * 1.05**i for i in range(20)]
    assert last_ramp(series(values), **OPTIONS)[0][0] == D0
    assert last_ramp(series([1000, 1500, 2000]), **OPTIONS)[0][0] == D0


def test_days_until_limit_edge_cases():
    growing = [GB + MB * i for i in range(20)]
    assert forecast(growing).days_until_limit is None  # no limit
    assert forecast(growing, limit_bytes=GB).days_until_limit == 0  # already there
    shrinking = [2 * GB - MB * i for i in range(20)]
    assert forecast(shrinking, limit_bytes=3 * GB).days_until_limit is None  # never at this trend


def test_backtest_fits_without_the_last_seven_days():
    # exact line up to day 13, then 10 % above it: the back-test's error is 1/11 of each actual value
    values = [1000 * GB + GB * i for i in range(14)] + [1.1 * (1000 * GB + GB * i) for i in range(14, 21)]
    f = size_forecast(series(values), window_days=30, step_fraction=0.5, step_min_bytes=MB)
    assert f.backtest_mape == pytest.approx(100 / 11, abs=0.01)


@pytest.mark.parametrize(("df", "expected"), [(5, 2.5706), (12, 2.1788), (28, 2.0484), (100, 1.9840)])
def test_t_quantile(df, expected):
    assert t975(df) == pytest.approx(expected, abs=0.001)
