"""/api/v1/ routes of the capacity app (included by the root URL conf under the ``capacity`` namespace).

Explicit paths (nested routes such as /instances/<id>/...) come first.
Database names are URL-encoded path segments (a name may contain "/").
"""

from django.urls import re_path

from capacity.api import views
from whalefall.routers import api_router

app_name = "capacity"

# optional trailing slash, like the router's routes
_INSTANCE = r"^instances/(?P<instance_id>[0-9]+)"
_TABLES = _INSTANCE + r"/databases/(?P<database>.+?)/tables/sizes"


router = api_router()
router.register("capacity/database-stats", views.DatabaseSizeStatViewSet, basename="database-size-stat")
router.register("capacity/instance-stats", views.InstanceSizeStatViewSet, basename="instance-size-stat")
router.register(
    "capacity/database-aggregations", views.DatabaseSizeAggregationViewSet, basename="database-size-aggregation"
)
router.register(
    "capacity/instance-aggregations", views.InstanceSizeAggregationViewSet, basename="instance-size-aggregation"
)
router.register("capacity/databases", views.InstanceDatabaseViewSet, basename="instance-database")

urlpatterns = [
    re_path(_INSTANCE + r"/databases/?$", views.InstanceDatabaseSizesView.as_view(), name="instance-database-sizes"),
    re_path(_TABLES + r"/?$", views.TableSizesView.as_view(), name="table-sizes"),
    re_path(_TABLES + r"/actions/refresh/?$", views.TableSizesRefreshView.as_view(), name="table-sizes-refresh"),
    re_path(_INSTANCE + r"/actions/collect-capacity/?$", views.CollectCapacityView.as_view(), name="collect-capacity"),
    re_path(_INSTANCE + r"/capacity/summary/?$", views.CapacitySummaryView.as_view(), name="capacity-summary"),
    re_path(r"^capacity/top-growers/?$", views.TopGrowersView.as_view(), name="top-growers"),
    re_path(r"^capacity/actions/aggregate/?$", views.AggregateCapacityView.as_view(), name="aggregate-capacity"),
    *router.urls,
]
