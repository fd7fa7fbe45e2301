"""SVG geometry of the capacity chart (rendered by the admin template, no JavaScript)."""

from __future__ import annotations

import datetime as dt

from capacity import selectors
from capacity.forecast import OK, Forecast
from whalefall.admin_tools import format_bytes
from whalefall.charts import axis_scale, line_chart


def trend_chart(trend: selectors.CapacityTrend, *, width: int = 900, height: int = 280) -> dict:
    """SVG geometry for the capacity chart: one polyline per series (instance
    total first), y = bytes from 0 to the maximum."""
    series = [("Instance total", trend.instance_total), *trend.databases.items()]
    return line_chart(
        series, start=trend.start, end=trend.end, label=format_bytes, binary=True, width=width, height=height
    )


#: how far past the last sample the forecast is drawn at most (days)
FORECAST_DRAWN_DAYS_MAX = 365


def forecast_chart(
    sizes: dict[dt.date, int], forecast: Forecast, *, start: dt.date, end: dt.date, width: int = 900, height: int = 260
) -> dict:
    """SVG geometry of one series with its forecast: the daily sizes over ``[start, end]``,
    the fitted line from the ramp start on, and the 95 % prediction band after the last
    sample, drawn up to the day the line reaches the limit (at most
    ``FORECAST_DRAWN_DAYS_MAX`` days; the horizon when there is no limit)."""
    pad_left, pad_bottom, pad_top = 70, 24, 10
    plot_w, plot_h = width - pad_left - 10, height - pad_bottom - pad_top
    ok = forecast.status == OK
    ahead = 0
    if ok:
        reach = forecast.days_until_limit
        ahead = min(reach if reach is not None else forecast.horizon_days, FORECAST_DRAWN_DAYS_MAX)
    last = forecast.last_date if ok else end
    x_end = max(end, last + dt.timedelta(days=ahead))
    span = max((x_end - start).days, 1)
    band = [(d, *forecast.band(d)) for d in range(0, ahead + 1, max(1, ahead // 40))] if ok and ahead else []
    limit = forecast.limit_bytes
    values = [*sizes.values(), *(high for _d, _low, _mid, high in band)]
    # the limit line when the drawing reaches it, or when it is close above the data
    reached = ok and forecast.days_until_limit is not None and forecast.days_until_limit <= FORECAST_DRAWN_DAYS_MAX
    limit_drawn = limit is not None and (reached or limit <= 1.2 * max(values or [0]))
    top, ticks = axis_scale(max([*values, limit if limit_drawn else 0]), binary=True)

    def x(day: dt.date) -> float:
        return pad_left + plot_w * (day - start).days / span

    def y(value: float) -> float:
        return pad_top + plot_h * (1 - max(value, 0) / top)

    def point(day: dt.date, value: float) -> str:
        return f"{x(day):.1f},{y(value):.1f}"

    chart = {
        "width": width,
        "height": height,
        "left": pad_left,
        "right": width - 10,
        "bottom": pad_top + plot_h,
        "start": start,
        "end": x_end,
        "empty": not sizes,
        "points": " ".join(point(day, value) for day, value in sorted(sizes.items())),
        "ticks": [{"y": y(tick), "label": format_bytes(tick)} for tick in ticks],
        "fitted": "",
        "band": "",
        "limit_y": f"{y(limit):.1f}" if limit_drawn else None,
        "limit": format_bytes(limit) if limit is not None else None,
    }
    if ok:
        fit_start = max(forecast.ramp_start, start)
        far = last + dt.timedelta(days=ahead)
        chart["fitted"] = f"{point(fit_start, forecast.fit.predict(fit_start))} {point(far, forecast.fit.predict(far))}"
        upper = [point(last + dt.timedelta(days=d), high) for d, _low, _mid, high in band]
        lower = [point(last + dt.timedelta(days=d), low) for d, low, _mid, _high in reversed(band)]
        chart["band"] = " ".join(upper + lower)
    return chart
