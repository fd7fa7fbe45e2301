"""Admin actions on instances (collect, aggregate), the instance page's link to its capacity page
and its capacity row in the instance overview."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html

from capacity.forecast import OK
from capacity.selectors import capacity_summary
from capacity.services import capacity_aggregate_all, capacity_collect_all
from instances.admin import (
    instance_admin_action_register,
    instance_admin_link_register,
    instance_admin_summary_register,
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


instance_admin_summary_register("Capacity", _capacity_overview)
