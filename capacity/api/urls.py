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

urlpatterns = [
    re_path(_INSTANCE + r"/databases/?$", views.InstanceDatabaseSizesView.as_view(), name="instance-database-sizes"),
    re_path(_TABLES + r"/?$", views.TableSizesView.as_view(), name="table-sizes"),
    re_path(_TABLES + r"/actions/refresh/?$", views.TableSizesRefreshView.as_view(), name="table-sizes-refresh"),
    re_path(_INSTANCE + r"/actions/collect-capacity/?$", views.CollectCapacityView.as_view(), name="collect-capacity"),
    *router.urls,
]
