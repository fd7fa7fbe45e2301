"""whalefall.units: one rule for sizes, changes, rates, size inputs and date-times."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.template import Context, Template
from django.test import override_settings

from whalefall.units import (
    datetime_format,
    rate_format,
    size_delta_format,
    size_exact,
    size_format,
    size_parse,
)

KB, MB, GB, TB = 1024, 1024**2, 1024**3, 1024**4


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "-"), (0, "0\xa0B"), (1023, "1023\xa0B"), (KB, "1.0\xa0KB"), (1536, "1.5\xa0KB"),
        (int(3.8 * MB), "3.8\xa0MB"), (25 * GB, "25.0\xa0GB"), (int(1.5 * TB), "1.5\xa0TB"),
        (-27 * MB, "\u221227.0\xa0MB"),
    ],
)  # fmt: skip
def test_sizes_are_1024_based_with_the_unit_shown(value, text):
    assert size_format(value) == text


def test_changes_and_rates_carry_their_sign():
    assert size_delta_format(int(66.6 * MB)) == "+66.6\xa0MB"
    assert size_delta_format(-27 * MB) == "\u221227.0\xa0MB"
    assert size_delta_format(0) == size_delta_format(0.2) == "0\xa0B"
    assert rate_format(int(3.8 * MB)) == "+3.8\xa0MB/day"
    assert rate_format(-2724433) == "\u22122.6\xa0MB/day"
    assert rate_format(None) == size_delta_format(None) == "-"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("25 GB", 25 * GB), ("25gb", 25 * GB), ("25 GiB", 25 * GB), ("500 MiB", 500 * MB), ("1.5TB", int(1.5 * TB)),
        ("1024 k", MB), (" 26843545600 ", 25 * GB), ("0.5 KB", 512), ("7 bytes", 7),
    ],
)  # fmt: skip
def test_size_inputs(text, value):
    assert size_parse(text) == value


@pytest.mark.parametrize("text", ["", "GB", "25 GX", "-1 GB", "1,5 GB", "1.5 B", "ten"])
def test_bad_size_inputs_say_what_to_type(text):
    with pytest.raises(ValidationError) as raised:
        size_parse(text)
    assert raised.value.code == "size"


@pytest.mark.parametrize("value", [1, 1000, KB, 25 * GB, int(1.5 * TB), 26843545601, 5 * GB + 1])
def test_a_size_shown_in_an_input_reads_back_exactly(value):
    assert size_parse(size_exact(value)) == value
    assert size_exact(25 * GB) == "25 GB" and size_exact(int(1.5 * TB)) == "1.5 TB"


@override_settings(TIME_ZONE="Europe/Paris")
def test_one_date_time_format_with_the_time_zone():
    moment = dt.datetime(2026, 3, 1, 13, 5, tzinfo=dt.UTC)
    assert datetime_format(moment) == "2026-03-01 14:05 CET"
    # the admin and the templates use the same format (whalefall/formats)
    assert Template("{{ moment }}").render(Context({"moment": moment})) == "2026-03-01 14:05 CET"
    assert Template("{% load units %}{{ moment|when }}").render(Context({"moment": moment})) == (
        '<span class="wf-nowrap">2026-03-01</span> <span class="wf-nowrap">14:05 CET</span>'
    )
    assert Template("{% load units %}{{ v|size }} {{ v|rate }}").render(Context({"v": 3 * MB})) == (
        "3.0\xa0MB +3.0\xa0MB/day"
    )
