"""SVG geometry of a line chart over days (rendered by ``admin/_line_chart.html``, no JavaScript)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence

#: colours people tell apart, colour-blind people too (Okabe & Ito), on a light or dark background;
#: the series colours of every chart, and the palette classifications choose from
PALETTE: tuple[tuple[str, str], ...] = (
    ("#0072B2", "blue"),
    ("#D55E00", "vermillion"),
    ("#009E73", "bluish green"),
    ("#CC79A7", "reddish purple"),
    ("#E69F00", "orange"),
    ("#56B4E9", "sky blue"),
    ("#6c757d", "grey"),
    ("#F0E442", "yellow"),
)
CHART_COLORS = tuple(color for color, _name in PALETTE)


def axis_scale(peak: float, *, binary: bool = False, count: int = 4) -> tuple[float, list[float]]:
    """A rounded top for a y axis that reaches ``peak``, and its ticks from 0: about ``count``
    steps of 1, 2, 2.5 or 5 times a power of 10 (``binary``: up to 500 times a power of 1024, for
    sizes, so the labels read 25 GB, 50 GB… not 21.8 GB, 43.6 GB…). Counts get whole steps."""
    raw = max(peak, 1) / count
    base, multipliers = (1024, (1, 2, 2.5, 5, 10, 20, 25, 50, 100, 200, 250, 500)) if binary else (10, (1, 2, 2.5, 5))
    power = max(0, math.floor(math.log(raw, base)))
    steps = (m * base**p for p in (power, power + 1) for m in multipliers)
    # counts step by whole numbers (2.5 only from 25 up)
    step = next(step for step in steps if step >= raw and (binary or step == int(step)))
    top = math.ceil(peak / step) * step if peak > 0 else step
    return top, [i * step for i in range(round(top / step) + 1)]


def line_chart(
    series: Sequence[tuple[str, dict[dt.date, int]]],
    *,
    start: dt.date,
    end: dt.date,
    label: Callable[[int], str] = str,
    binary: bool = False,
    colors: Sequence[str] | None = None,
    width: int = 900,
    height: int = 280,
) -> dict:
    """One polyline per ``(name, {day: value})``, x = day within ``[start, end]``,
    y = value from 0 to a rounded top (``axis_scale``; ``binary`` for sizes); the first series is
    drawn thicker. ``label`` formats the axis ticks, each series' last value and the value shown on
    hovering a point."""
    pad_left, pad_bottom, pad_top = 70, 24, 10
    plot_w, plot_h = width - pad_left - 10, height - pad_bottom - pad_top
    span = max((end - start).days, 1)
    top, ticks = axis_scale(max([v for _, data in series for v in data.values()] or [0]), binary=binary)
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
        "ticks": [
            {"y": pad_top + plot_h * (1 - tick / top), "label": label(tick if binary else int(tick))} for tick in ticks
        ],
        "start": start,
        "end": end,
        "empty": not any(data for _, data in series),
    }
