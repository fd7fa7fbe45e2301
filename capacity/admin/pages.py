"""The capacity pages: one instance (size over time, forecast of the total, roll-ups per
period type, current sizes), one database (the same for it) and the top growers across
instances. Each is a handful of indexed queries over a bounded window: no COUNT, no
window function over the whole history. The Daily tab reads the daily sizes themselves
(``capacity.selectors.instance_size_daily`` / ``database_size_daily``), never stored rows.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from capacity import selectors
from capacity.admin.actions import aggregate_capacity_action, collect_capacity_action
from capacity.charts import forecast_chart, trend_chart
from capacity.forecast import DEFAULT_WINDOW_DAYS
from capacity.models import PeriodType
from instances.models import SYNC_INSTANCE_PERMISSION, Instance
from whalefall.admin_tools import format_bytes
from whalefall.scoping import readable_instance_ids, require_instance_in_scope

#: windows offered on the capacity pages (days)
TREND_WINDOWS = (30, 90, 365, 730)
DEFAULT_PERIOD = PeriodType.MONTHLY
#: growth windows offered on the top growers page (days)
GROWER_WINDOWS = (7, 30, 90, 365)
TOP_GROWERS = 50


def _choice(request, name: str, options, default):
    """The ``name`` query parameter when it is one of ``options`` (compared as text), else ``default``."""
    by_text = {str(option): option for option in options}
    return by_text.get(request.GET.get(name, ""), default)


def _context(model_admin, request, **extra) -> dict:
    return {**model_admin.admin_site.each_context(request), "opts": model_admin.model._meta, **extra}


def _changelist(model_name: str, **filters) -> str:
    return f"{reverse(f'admin:capacity_{model_name}_changelist')}?{urlencode(filters)}"


def _rows_url(period: str, daily_model: str, stored_model: str, **filters) -> str:
    """"Browse all rows" of a roll-up tab: the daily sizes themselves for daily (never stored),
    else the stored roll-ups of that period type."""
    if period == PeriodType.DAILY:
        return _changelist(daily_model, collected_date__recent="90", **filters)
    return _changelist(stored_model, period_type__exact=period, period_start__recent="all", **filters)


def database_page_url(instance_id: int, database: str) -> str:
    return reverse("admin:capacity_database_capacity", args=[instance_id, database])


def instance_capacity_page(model_admin, request, instance_id: int):
    """Size over time (instance total + top databases), the forecast of the total up to its
    limit, the instance's roll-ups of one period type (tabs) and the current sizes."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    instance = get_object_or_404(Instance, pk=instance_id)
    require_instance_in_scope(request.user, instance.pk, acting=False)
    days = _choice(request, "days", TREND_WINDOWS, 90)
    period = _choice(request, "period", PeriodType.values, DEFAULT_PERIOD)
    end = timezone.localdate()
    start = end - dt.timedelta(days=days)
    trend = selectors.capacity_trend(instance_id=instance.pk, start=start, end=end)
    forecast = selectors.series_forecast(
        list(trend.instance_total.items()), today=end, window_days=DEFAULT_WINDOW_DAYS,
        limit_bytes=instance.size_limit_bytes,
    )  # fmt: skip
    current = list(selectors.database_sizes_current(instance_id=instance.pk).order_by("-size_bytes"))
    for row in current:
        row.tables_url = _changelist(
            "databasetablesizestat", instance__id__exact=instance.pk, database_name=row.database_name
        )
        row.page_url = database_page_url(instance.pk, row.database_name)
    can_run = request.user.has_perm(SYNC_INSTANCE_PERMISSION)
    context = _context(
        model_admin,
        request,
        title=f"Capacity of {instance.name}",
        instance=instance,
        days=days,
        windows=TREND_WINDOWS,
        period=period,
        periods=PeriodType.choices,
        chart=trend_chart(trend),
        forecast=forecast,
        forecast_chart=forecast_chart(trend.instance_total, forecast, start=start, end=end),
        aggregations=list(selectors.instance_aggregations(instance_id=instance.pk, period_type=period)),
        aggregations_url=_rows_url(
            period, "instancesizestat", "instancesizeaggregation", instance__id__exact=instance.pk
        ),
        limit_url=reverse("admin:instances_instance_change", args=[instance.pk]),
        current=current,
        total_current=format_bytes(sum(r.size_bytes for r in current)),
        can_collect=can_run,
        can_aggregate=can_run,
    )
    return TemplateResponse(request, "admin/capacity/instance_capacity.html", context)


def database_capacity_page(model_admin, request, instance_id: int, database: str):
    """One database: daily sizes over the window with the forecast up to its limit, and its
    roll-ups of one period type (tabs)."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    instance = get_object_or_404(Instance, pk=instance_id)
    require_instance_in_scope(request.user, instance.pk, acting=False)
    days = _choice(request, "days", TREND_WINDOWS, 90)
    period = _choice(request, "period", PeriodType.values, DEFAULT_PERIOD)
    end = timezone.localdate()
    capacity = selectors.database_capacity(
        instance_id=instance.pk, database=database, start=end - dt.timedelta(days=days), end=end
    )
    inventory = capacity.inventory
    if inventory is None and not capacity.sizes and not capacity.forecast.samples:
        raise Http404(f"No database {database!r} on {instance.name}.")  # never collected, never inventoried
    context = _context(
        model_admin,
        request,
        title=f"Capacity of {database} on {instance.name}",
        instance=instance,
        database=database,
        days=days,
        windows=TREND_WINDOWS,
        period=period,
        periods=PeriodType.choices,
        forecast=capacity.forecast,
        forecast_chart=forecast_chart(capacity.sizes, capacity.forecast, start=capacity.start, end=end),
        aggregations=list(
            selectors.database_aggregations(instance_id=instance.pk, database=database, period_type=period)
        ),
        aggregations_url=_rows_url(
            period, "databasesizestat", "databasesizeaggregation", instance__id__exact=instance.pk,
            database_name=database,
        ),  # fmt: skip
        inventory=inventory,
        limit_url=reverse("admin:capacity_instancedatabase_change", args=[inventory.pk]) if inventory else None,
        tables_url=_changelist("databasetablesizestat", instance__id__exact=instance.pk, database_name=database),
        instance_url=reverse("admin:capacity_instance_capacity", args=[instance.pk]),
    )
    return TemplateResponse(request, "admin/capacity/database_capacity.html", context)


def top_growers_page(model_admin, request):
    """The databases of every instance that grew most over the chosen window, with forecasts."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    days = _choice(request, "days", GROWER_WINDOWS, 30)
    rows = selectors.capacity_top_growers(
        days=days, limit=TOP_GROWERS, instance_ids=readable_instance_ids(request.user)
    )
    context = _context(
        model_admin,
        request,
        title=f"Top growers over {days} days",
        days=days,
        windows=GROWER_WINDOWS,
        rows=[{"row": row, "url": database_page_url(row.instance_id, row.database_name)} for row in rows],
    )
    return TemplateResponse(request, "admin/capacity/top_growers.html", context)


def _start_one(action, model_admin, request, instance_id: int):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    require_instance_in_scope(request.user, instance_id, acting=True)
    action(model_admin, request, Instance.objects.filter(pk=instance_id))
    return HttpResponseRedirect(reverse("admin:capacity_instance_capacity", args=[instance_id]))


def instance_collect(model_admin, request, instance_id: int):
    """POST: start a capacity collection of one instance, back to its capacity page."""
    return _start_one(collect_capacity_action, model_admin, request, instance_id)


def instance_aggregate(model_admin, request, instance_id: int):
    """POST: aggregate one instance (every period containing yesterday or today), back to its page."""
    return _start_one(aggregate_capacity_action, model_admin, request, instance_id)
