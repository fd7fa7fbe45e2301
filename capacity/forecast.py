"""Growth forecast of one size series (pure: no ORM, no SQL; docs/capacity.md § Forecast).

Least squares over the daily samples of the last N days (default 30), using
only the samples after the last step change — a day-over-day jump or drop of
more than ``step_fraction`` of the previous sample *and* at least
``step_min_bytes`` (a cleanup, a moved or restored database): the "last ramp".
Fewer than ``MIN_SAMPLES`` samples on the ramp: status ``collecting`` and no
numbers. Otherwise: the slope (bytes/day), the 95 % prediction band of the
size ``horizon_days`` after the last sample, the days until a limit is reached
on the fitted line, and a back-test (fit without the last 7 days, predict
them, mean absolute percentage error).

Not covered: seasonality, acceleration (the fit is a straight line), and
anything older than the window. Sizes are bytes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

COLLECTING, OK = "collecting", "ok"
MIN_SAMPLES = 14
DEFAULT_WINDOW_DAYS = 30
#: a step change: more than 10 % of the previous sample and at least 1 MiB, up or down
STEP_FRACTION = 0.1
STEP_MIN_BYTES = 1024 * 1024
BACKTEST_DAYS = 7
Z975 = 1.959963984540054

Sample = tuple[dt.date, int]


def t975(df: int) -> float:
    """97.5 % quantile of Student's t with ``df`` degrees of freedom: the Cornish–Fisher
    expansion around the normal quantile to df⁻⁴ (error < 0.001 for df >= 5; the
    forecast uses df >= 12)."""
    z = Z975
    terms = (
        z,
        (z**3 + z) / 4,
        (5 * z**5 + 16 * z**3 + 3 * z) / 96,
        (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384,
        (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160,
    )
    return sum(term / df**power for power, term in enumerate(terms))


def last_ramp(samples: Sequence[Sample], *, step_fraction: float, step_min_bytes: int) -> list[Sample]:
    """The samples (sorted by day) after the last step change; all of them when there is none.
    A step is a change between consecutive samples (a missed day in between is fine) larger
    than ``step_fraction`` × the earlier sample and than ``step_min_bytes``."""
    ordered = sorted(samples)
    start = 0
    for i in range(1, len(ordered)):
        before, after = ordered[i - 1][1], ordered[i][1]
        change = abs(after - before)
        if change > step_fraction * before and change >= step_min_bytes:
            start = i
    return ordered[start:]


@dataclass(frozen=True)
class Fit:
    """Least-squares line ``size = intercept + slope × x`` with x in days after ``origin``."""

    origin: dt.date
    n: int
    slope: float
    intercept: float
    x_mean: float
    sxx: float
    residual_std: float  # sqrt(SSE / (n - 2)); 0 for two samples

    def predict(self, day: dt.date) -> float:
        return self.intercept + self.slope * (day - self.origin).days


def fit_line(samples: Sequence[Sample], *, origin: dt.date) -> Fit:
    """Least squares over ``samples`` (at least two distinct days), centred for precision."""
    xs = [(day - origin).days for day, _ in samples]
    ys = [float(size) for _, size in samples]
    n = len(xs)
    x_mean, y_mean = sum(xs) / n, sum(ys) / n
    sxx = sum((x - x_mean) ** 2 for x in xs)
    sxy = sum((x - x_mean) * (y - y_mean) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx
    intercept = y_mean - slope * x_mean
    sse = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys, strict=True))
    residual_std = math.sqrt(sse / (n - 2)) if n > 2 else 0.0
    return Fit(origin, n, slope, intercept, x_mean, sxx, residual_std)


def prediction_band(fit: Fit, day: dt.date) -> tuple[float, float, float]:
    """(low, predicted, high) of the 95 % prediction band of a new sample on ``day``."""
    x = (day - fit.origin).days
    half = t975(fit.n - 2) * fit.residual_std * math.sqrt(1 + 1 / fit.n + (x - fit.x_mean) ** 2 / fit.sxx)
    predicted = fit.predict(day)
    return predicted - half, predicted, predicted + half


@dataclass(frozen=True)
class Forecast:
    """The forecast of one series. ``status`` is ``ok`` or ``collecting`` (then only
    ``samples``, ``window_days`` and ``limit_bytes`` are set)."""

    status: str
    samples: int
    window_days: int
    limit_bytes: int | None = None
    ramp_start: dt.date | None = None
    last_date: dt.date | None = None
    last_bytes: int | None = None
    bytes_per_day: float | None = None
    horizon_days: int | None = None
    predicted_bytes: int | None = None
    band_low: int | None = None
    band_high: int | None = None
    days_until_limit: int | None = None
    backtest_mape: float | None = None
    fit: Fit | None = None

    @property
    def min_samples(self) -> int:
        return MIN_SAMPLES

    def band(self, days_after_last: int) -> tuple[float, float, float]:
        """(low, predicted, high) of the 95 % prediction band ``days_after_last`` days
        after the last sample (status ``ok`` only)."""
        return prediction_band(self.fit, self.last_date + dt.timedelta(days=days_after_last))

    def as_dict(self) -> dict:
        """The API's ``forecast`` object."""
        return {
            "status": self.status,
            "samples": self.samples,
            "min_samples": self.min_samples,
            "window_days": self.window_days,
            "ramp_start": self.ramp_start,
            "bytes_per_day": self.bytes_per_day,
            "horizon_days": self.horizon_days,
            "predicted_bytes": self.predicted_bytes,
            "band_low": self.band_low,
            "band_high": self.band_high,
            "limit_bytes": self.limit_bytes,
            "days_until_limit": self.days_until_limit,
            "backtest_mape": self.backtest_mape,
        }


def _backtest_mape(ramp: Sequence[Sample]) -> float | None:
    """Fit without the last BACKTEST_DAYS days, predict them: mean |error| / actual × 100."""
    cut = ramp[-1][0] - dt.timedelta(days=BACKTEST_DAYS)
    train = [s for s in ramp if s[0] <= cut]
    test = [s for s in ramp if s[0] > cut and s[1] > 0]
    if len(train) < 2 or not test:
        return None
    fit = fit_line(train, origin=train[-1][0])
    return round(100 * sum(abs(size - fit.predict(day)) / size for day, size in test) / len(test), 2)


def days_until(*, limit_bytes: int | None, last_bytes: int, slope: float, line_bytes: float) -> int | None:
    """Days until a line of ``slope`` bytes/day, at ``line_bytes`` on the last sample's day, reaches
    ``limit_bytes``: 0 when the last sample already reaches it, None without a limit or when the
    line does not grow, else whole days."""
    if limit_bytes is None:
        return None
    if last_bytes >= limit_bytes:
        return 0
    if slope <= 0:
        return None
    return max(0, math.floor((limit_bytes - line_bytes) / slope))


def size_forecast(
    samples: Sequence[Sample],
    *,
    window_days: int,
    step_fraction: float,
    step_min_bytes: int,
    limit_bytes: int | None = None,
    horizon_days: int | None = None,
) -> Forecast:
    """Forecast from the daily ``samples`` of the last ``window_days`` days (the caller
    selects them). ``horizon_days`` (default: ``window_days``) is where the band is
    reported. ``days_until_limit``: 0 when the last sample already reaches the
    limit, None without a limit or when the line does not grow, else the whole
    days until the fitted line reaches it."""
    ramp = last_ramp(samples, step_fraction=step_fraction, step_min_bytes=step_min_bytes)
    if len(ramp) < MIN_SAMPLES:
        return Forecast(COLLECTING, samples=len(ramp), window_days=window_days, limit_bytes=limit_bytes)
    last_day, last_bytes = ramp[-1]
    fit = fit_line(ramp, origin=last_day)
    horizon = window_days if horizon_days is None else horizon_days
    days_until_limit = days_until(limit_bytes=limit_bytes, last_bytes=last_bytes, slope=fit.slope,
                                  line_bytes=fit.intercept)  # fmt: skip
    low, predicted, high = prediction_band(fit, last_day + dt.timedelta(days=horizon))
    return Forecast(
        OK,
        samples=len(ramp),
        window_days=window_days,
        limit_bytes=limit_bytes,
        ramp_start=ramp[0][0],
        last_date=last_day,
        last_bytes=last_bytes,
        bytes_per_day=round(fit.slope, 2),
        horizon_days=horizon,
        predicted_bytes=round(predicted),
        band_low=round(low),
        band_high=round(high),
        days_until_limit=days_until_limit,
        backtest_mape=_backtest_mape(ramp),
        fit=fit,
    )
