"""Human units, one rule for the whole console.

Sizes are 1024-based and say so in the way DBAs read them: 1 KB = 1024 B, 1 MB = 1024 KB, …
(the same figures ``pg_size_pretty`` and MySQL tools print). A size shows one decimal above
bytes ("3.8 MB", "25.0 GB"); a change carries its sign ("+66.6 MB", "−27.0 MB"); a rate is
per day ("+3.8 MB/day"). The number and its unit are joined by a no-break space, so they never
sit on two lines.

Size inputs accept what people type: "25 GB", "25gb", "500 MiB", "1.5TB", "1024 K" or plain
bytes ("26843545600"); KB and KiB (MB and MiB, …) mean the same 1024-based unit here.

Every date-time is shown in one format with its time zone (``whalefall/formats``):
:func:`datetime_format` for text built in Python, :func:`datetime_html` for HTML.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.formats import get_format
from django.utils.html import format_html

UNITS = ("B", "KB", "MB", "GB", "TB", "PB")
NBSP = "\u00a0"
MINUS = "\u2212"  # a real minus sign: as wide as the plus, not a hyphen

_FACTORS = {unit: 1024**power for power, unit in enumerate(UNITS)}
_ALIASES = {
    "": "B", "b": "B", "byte": "B", "bytes": "B",
    **{alias: unit for unit in UNITS[1:] for alias in (unit[0].lower(), unit.lower(), f"{unit[0].lower()}ib")},
}  # fmt: skip
_INPUT = re.compile(r"^\s*(?P<number>\d+(?:\.\d+)?|\.\d+)\s*(?P<unit>[a-zA-Z]*)\s*$")
SIZE_INPUT_HELP = "e.g. “25 GB”, “500 MiB”, “1.5 TB” or a number of bytes (1 GB = 1024 MB)"


def size_format(value: int | float | Decimal | None) -> str:
    """"512 B", "1.5 KB", "3.8 MB", "25.0 GB"; "-" for unknown."""
    if value is None:
        return "-"
    magnitude = abs(float(value))
    sign = MINUS if value < 0 else ""
    unit = UNITS[0]
    for unit in UNITS:
        if magnitude < 1024 or unit == UNITS[-1]:
            break
        magnitude /= 1024
    if unit == "B":
        return f"{sign}{round(magnitude)}{NBSP}B"
    return f"{sign}{magnitude:.1f}{NBSP}{unit}"


def size_delta_format(value: int | float | Decimal | None) -> str:
    """A change: "+66.6 MB", "−27.0 MB", "0 B"; "-" for unknown."""
    if value is None:
        return "-"
    if round(value) == 0:
        return f"0{NBSP}B"
    return ("+" if value > 0 else "") + size_format(value)


def rate_format(bytes_per_day: int | float | Decimal | None) -> str:
    """A growth rate: "+3.8 MB/day", "−2.6 MB/day", "0 B/day"; "-" for unknown."""
    if bytes_per_day is None:
        return "-"
    return f"{size_delta_format(bytes_per_day)}/day"


def size_exact(value: int | None) -> str:
    """A size as an input shows it: the largest unit that states it exactly ("25 GB",
    "1.5 TB"), else bytes, so saving a form unchanged never rounds a limit."""
    if value is None:
        return ""
    for unit in reversed(UNITS[1:]):
        factor = _FACTORS[unit]
        if value >= factor and (value * 10) % factor == 0:
            amount = Decimal(value) / factor
            text = f"{amount:.1f}".removesuffix(".0")
            return f"{text} {unit}"
    return str(value)


def size_parse(text: str) -> int:
    """Bytes from "25 GB", "500 MiB", "1.5TB", "1024 k" or "26843545600"; ``ValidationError``
    (code ``size``) for anything else, and for a fraction of a byte."""
    match = _INPUT.match(text or "")
    unit = _ALIASES.get(match["unit"].lower()) if match else None
    if unit is None:
        raise ValidationError(f"Enter a size, {SIZE_INPUT_HELP}.", code="size")
    try:
        amount = Decimal(match["number"]) * _FACTORS[unit]
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        raise ValidationError(f"Enter a size, {SIZE_INPUT_HELP}.", code="size") from None
    if amount != amount.to_integral_value():
        raise ValidationError("A size is a whole number of bytes: use a smaller unit.", code="size")
    return int(amount)


def datetime_format(value: dt.datetime | None) -> str:
    """A date-time as the console shows it everywhere ("2026-03-01 14:05 UTC"), in the
    current time zone; "-" for none."""
    if value is None:
        return "-"
    return date_format(timezone.localtime(value), get_format("DATETIME_FORMAT"))


def datetime_html(value: dt.datetime | None) -> str:
    """:func:`datetime_format` for HTML: it may wrap between the date and the time, never
    inside either (a browser would break "2026-03-01" at a hyphen)."""
    if value is None:
        return "-"
    local = timezone.localtime(value)
    day, _, time = get_format("DATETIME_FORMAT").partition(" ")  # "Y-m-d" and "H:i T"
    return format_html(
        '<span class="wf-nowrap">{}</span> <span class="wf-nowrap">{}</span>',
        date_format(local, day),
        date_format(local, time),
    )
