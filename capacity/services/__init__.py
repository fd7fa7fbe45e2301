"""Capacity writes (services): collection, per-table sizes, aggregation.

The public service functions are re-exported here, so callers import them
from ``capacity.services`` whichever module holds them.
"""

from capacity.services.aggregation import (
    AGGREGATION_UNIT,
    AggregationResult,
    capacity_aggregate,
    capacity_aggregate_all,
    capacity_aggregate_instance,
)
from capacity.services.collection import (
    capacity_apply,
    capacity_collect_all,
    capacity_collect_instance,
    capacity_collect_unit,
)
from capacity.services.inventory import instance_database_limit_set
from capacity.services.table_sizes import TableSizesRefresh, table_sizes_apply, table_sizes_refresh

__all__ = [
    "AGGREGATION_UNIT",
    "AggregationResult",
    "capacity_aggregate",
    "capacity_aggregate_all",
    "capacity_aggregate_instance",
    "TableSizesRefresh",
    "capacity_apply",
    "capacity_collect_all",
    "capacity_collect_instance",
    "capacity_collect_unit",
    "instance_database_limit_set",
    "table_sizes_apply",
    "table_sizes_refresh",
]
