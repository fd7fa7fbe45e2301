"""Template filters of :mod:`whalefall.units` (``{% load units %}``, registered in
``TEMPLATES["OPTIONS"]["libraries"]``): ``size``, ``size_delta``, ``rate`` and ``when``."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.formats import get_format
from django.utils.html import format_html

from whalefall.units import rate_format, size_delta_format, size_format

register = template.Library()

register.filter("size", size_format)
register.filter("size_delta", size_delta_format)
register.filter("rate", rate_format)


@register.filter
def when(value) -> str:
    """A date-time in the console's format ("2026-03-01 14:05 UTC") for a table cell: it may
    wrap between the date and the time, never inside either."""
    if value is None:
        return "-"
    local = timezone.localtime(value)
    day, _, time = get_format("DATETIME_FORMAT").partition(" ")  # "Y-m-d" and "H:i T"
    return format_html(
        '<span class="wf-nowrap">{}</span> <span class="wf-nowrap">{}</span>',
        date_format(local, day),
        date_format(local, time),
    )
