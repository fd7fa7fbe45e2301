"""whalefall.charts: readable axes (rounded steps, labels where their values are) and a palette
whose colours stay apart."""

from __future__ import annotations

import datetime as dt

import pytest

from whalefall.charts import PALETTE, axis_scale, line_chart
from whalefall.units import size_format

GB = 1024**3


@pytest.mark.parametrize(
    ("peak", "binary", "ticks"),
    [(5, False, [0, 2, 4, 6]), (1, False, [0, 1]), (0, False, [0, 1]), (14, False, [0, 5, 10, 15]),
     (9, False, [0, 5, 10]), (90, False, [0, 25, 50, 75, 100]),
     (87.2 * GB, True, [0, 25 * GB, 50 * GB, 75 * GB, 100 * GB]),
     (3 * 1024**2, True, [0, 1024**2, 2 * 1024**2, 3 * 1024**2])],
)  # fmt: skip
def test_axis_steps_are_round(peak, binary, ticks):
    top, found = axis_scale(peak, binary=binary)
    assert found == ticks and top == ticks[-1] >= peak


def test_a_tick_label_names_the_value_at_its_height():
    day = dt.date(2026, 3, 1)
    next_day = day + dt.timedelta(days=1)
    chart = line_chart([("superuser", {day: 5, next_day: 3})], start=day, end=next_day)
    bottom, top = chart["ticks"][0]["y"], chart["ticks"][-1]["y"]
    for tick in chart["ticks"]:  # evenly spaced, each label its value (not "5, 3, 2, 1, 0" at quarters of 5)
        assert int(tick["label"]) == pytest.approx(6 * (bottom - tick["y"]) / (bottom - top))
    sizes = line_chart([("total", {day: int(87.2 * GB)})], start=day, end=day, label=size_format, binary=True)
    assert [t["label"] for t in sizes["ticks"]] == ["0\xa0B", "25.0\xa0GB", "50.0\xa0GB", "75.0\xa0GB", "100.0\xa0GB"]


def test_palette_colours_are_distinct():
    colours = [colour.lower() for colour, _ in PALETTE]
    assert len(set(colours)) == len(colours) >= 6
