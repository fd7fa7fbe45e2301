"""Admin for capacity: inventory (limits editable), latest sizes, the partitioned size
history and its aggregations, per-table sizes, and the capacity pages (instance,
database, top growers). Everything else is written by the collection and
aggregation services, so those admins are read-only.

The four partitioned fact tables open on a recent date window (so the planner
prunes old partitions), order like their indexes and never ``COUNT(*)`` the
whole history (see ``whalefall.admin_tools``).
"""

from capacity.admin import facts, inventory, table_sizes  # noqa: F401  (registers the model admins)
from capacity.admin.actions import aggregate_capacity_action, collect_capacity_action

__all__ = ["aggregate_capacity_action", "collect_capacity_action"]
