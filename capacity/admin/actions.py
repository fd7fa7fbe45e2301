"""Admin actions on instances (collect, aggregate) and the instance page's link to its capacity page."""

from __future__ import annotations

from django.urls import reverse

from capacity.services import capacity_aggregate_all, capacity_collect_all
from instances.admin import instance_admin_action_register, instance_admin_link_register
from sync_sessions.admin import batch_admin_action

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
