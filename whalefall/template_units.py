"""Template filters of :mod:`whalefall.units` (``{% load units %}``, registered in
``TEMPLATES["OPTIONS"]["libraries"]``): ``size``, ``size_delta``, ``rate`` and ``when``."""

from __future__ import annotations

from django import template

from whalefall.units import datetime_html, rate_format, size_delta_format, size_format

register = template.Library()

register.filter("size", size_format)
register.filter("size_delta", size_delta_format)
register.filter("rate", rate_format)
register.filter("when", datetime_html)
