"""SVG geometry of the capacity chart (rendered by the admin template, no JavaScript)."""

from __future__ import annotations

import datetime as dt

from capacity import selectors
from whalefall.admin_tools import format_bytes

CHART_COLORS = ("#264b5d", "#e07a1f", "#2a9d8f", "#b5179e", "#6c757d", "#d62828")


def trend_chart(trend: selectors.CapacityTrend, *, width: int = 900, height: int = 280) -> dict:
    """SVG geometry for the capacity chart: one polyline per series (instance
    total first), x = day within the window, y = bytes from 0 to the maximum."""
    pad_left, pad_bottom, pad_top = 70, 24, 10
    plot_w, plot_h = width - pad_left - 10, height - pad_bottom - pad_top
    span = max((trend.end - trend.start).days, 1)
    series_data = [("Instance total", trend.instance_total)] + list(trend.databases.items())
    top = max([v for _, data in series_data for v in data.values()] or [0]) or 1

    def xy(day: dt.date, value: int) -> str:
        x = pad_left + plot_w * (day - trend.start).days / span
        y = pad_top + plot_h * (1 - value / top)
        return f"{x:.1f},{y:.1f}"

    series = [
        {
            "name": name,
            "color": CHART_COLORS[i % len(CHART_COLORS)],
            "width": 2.5 if i == 0 else 1.5,
            "points": " ".join(xy(day, value) for day, value in sorted(data.items())),
            "last": format_bytes(data[max(data)]) if data else "-",
        }
        for i, (name, data) in enumerate(series_data)
    ]
    ticks = [{"y": pad_top + plot_h * (1 - f), "label": format_bytes(int(top * f))} for f in (0, 0.25, 0.5, 0.75, 1)]
    return {
        "width": width,
        "height": height,
        "left": pad_left,
        "right": width - 10,
        "bottom": pad_top + plot_h,
        "series": series,
        "ticks": ticks,
        "start": trend.start,
        "end": trend.end,
        "empty": not any(data for _, data in series_data),
    }
