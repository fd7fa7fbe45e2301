"""SVG geometry of a line chart over days (rendered by ``admin/_line_chart.html``, no JavaScript)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

CHART_COLORS = ("#264b5d", "#e07a1f", "#2a9d8f", "#b5179e", "#6c757d", "#d62828")


def line_chart(
    series: Sequence[tuple[str, dict[dt.date, int]]],
    *,
    start: dt.date,
    end: dt.date,
    label: Callable[[int], str] = str,
    colors: Sequence[str] | None = None,
    width: int = 900,
    height: int = 280,
) -> dict:
    """One polyline per ``(name, {day: value})``, x = day within ``[start, end]``,
    y = value from 0 to the maximum; the first series is drawn thicker. ``label``
    formats the axis ticks, each series' last value and the value shown on hovering a point."""
    pad_left, pad_bottom, pad_top = 70, 24, 10
    plot_w, plot_h = width - pad_left - 10, height - pad_bottom - pad_top
    span = max((end - start).days, 1)
    top = max([v for _, data in series for v in data.values()] or [0]) or 1
    colors = colors or CHART_COLORS

    def xy(day: dt.date, value: int) -> tuple[str, str]:
        return f"{pad_left + plot_w * (day - start).days / span:.1f}", f"{pad_top + plot_h * (1 - value / top):.1f}"

    def dots(name: str, data: dict[dt.date, int]) -> list[dict]:
        # one marker per value, its exact figure on hover (and a lone value still shows)
        return [{"x": x, "y": y, "title": f"{name}, {day}: {label(value)}"}
                for day, value in sorted(data.items()) for x, y in [xy(day, value)]]  # fmt: skip

    return {
        "width": width,
        "height": height,
        "left": pad_left,
        "right": width - 10,
        "bottom": pad_top + plot_h,
        "series": [
            {
                "name": name,
                "color": colors[i % len(colors)],
                "width": 2.5 if i == 0 else 1.5,
                "points": " ".join(",".join(xy(day, value)) for day, value in sorted(data.items())),
                "dots": dots(name, data),
                "last": label(data[max(data)]) if data else "-",
            }
            for i, (name, data) in enumerate(series)
        ],
        "ticks": [{"y": pad_top + plot_h * (1 - f), "label": label(int(top * f))} for f in (0, 0.25, 0.5, 0.75, 1)],
        "start": start,
        "end": end,
        "empty": not any(data for _, data in series),
    }
