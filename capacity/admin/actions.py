"""Admin actions on instances (collect, aggregate) and what capacity adds to the instance page:
a "Collect capacity" button, a card with the size chart and forecast, a link to the capacity page."""

from __future__ import annotations

import datetime as dt

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from capacity.charts import trend_chart
from capacity.forecast import OK
from capacity.selectors import capacity_summary, capacity_trend
from capacity.services import capacity_aggregate_all, capacity_collect_all
from instances.admin import (
    instance_admin_action_register,
    instance_admin_button_register,
    instance_admin_link_register,
    instance_admin_section_register,
)
from instances.models import Instance
from sync_sessions.admin import batch_admin_action
from whalefall.admin_tools import format_bytes
from whalefall.units import size_delta_format

collect_capacity_action = batch_admin_action(
    name="collect_capacity_action",
    description="Collect capacity",
    label="Capacity collection",
    start=capacity_collect_all,
)
# every period containing yesterday or today (backfills: manage.py aggregate_capacity --from --to)
aggregate_capacity_action = batch_admin_action(
    name="aggregate_capacity_action",
    description="Aggregate capacity",
    label="Capacity aggregation",
    start=capacity_aggregate_all,
)
instance_admin_action_register(collect_capacity_action)
instance_admin_action_register(aggregate_capacity_action)
instance_admin_link_register(
    "Capacity", lambda instance: reverse("admin:capacity_instance_capacity", args=[instance.pk])
)


def _capacity_overview(instance: Instance) -> str:
    summary = capacity_summary(instance=instance, top=0)
    url = reverse("admin:capacity_instance_capacity", args=[instance.pk])
    if summary.total_bytes is None:
        return format_html('<a href="{}">no size collected in the last 90 days</a>', url)
    growth = next(g for g in summary.growth if g.days == 30)
    grew = size_delta_format(growth.bytes)
    forecast = summary.forecast
    if forecast.status != OK:
        outlook = "forecast: collecting samples"
    elif forecast.limit_bytes is None:
        outlook = "no size limit set"
    elif forecast.days_until_limit is None:
        outlook = f"not forecast to reach its limit of {format_bytes(forecast.limit_bytes)}"
    else:
        outlook = f"reaches its limit of {format_bytes(forecast.limit_bytes)} in {forecast.days_until_limit} days"
    return format_html(
        '<a href="{}">{}</a> in {} database(s) on {} · {} in 30 days · {}',
        url, format_bytes(summary.total_bytes), summary.database_count, summary.as_of, grew, outlook,
    )  # fmt: skip


#: days of the instance page's capacity chart (the capacity page offers longer windows)
SECTION_DAYS = 90


def _capacity_section(instance: Instance) -> str:
    """The instance page's capacity card: the summary line, the size chart of the last
    ``SECTION_DAYS`` days (instance total and its largest databases), a link to the capacity page."""
    end = timezone.localdate()
    trend = capacity_trend(instance_id=instance.pk, start=end - dt.timedelta(days=SECTION_DAYS), end=end, top=4)
    return render_to_string("admin/capacity/_instance_section.html", {
        "summary": _capacity_overview(instance),
        "chart": trend_chart(trend, height=240),
        "days": SECTION_DAYS,
        "page_url": reverse("admin:capacity_instance_capacity", args=[instance.pk]),
    })  # fmt: skip


instance_admin_button_register("collect_capacity_action", "Collect capacity",
                               hint="queued: a session reads its database sizes")  # fmt: skip
instance_admin_section_register("Capacity", _capacity_section, order=10)
