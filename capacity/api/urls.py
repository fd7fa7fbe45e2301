"""/api/v1/ routes of the capacity app (included by whalefall/api_urls.py).

`register(router)` adds viewsets to the shared router; `urlpatterns` holds
explicit paths (nested routes such as /instances/<id>/...). Database names
are URL-encoded path segments (a name may contain "/").
"""

from django.urls import re_path

from capacity.api import views

# optional trailing slash, like the router's routes
_INSTANCE = r"^instances/(?P<instance_id>[0-9]+)"
_TABLES = _INSTANCE + r"/databases/(?P<database>.+?)/tables/sizes"


def register(router) -> None:
    router.register("capacity/database-stats", views.DatabaseSizeStatViewSet, basename="database-size-stat")
    router.register("capacity/instance-stats", views.InstanceSizeStatViewSet, basename="instance-size-stat")


urlpatterns: list = [
    re_path(_INSTANCE + r"/databases/?$", views.InstanceDatabaseSizesView.as_view(), name="instance-database-sizes"),
    re_path(_TABLES + r"/?$", views.TableSizesView.as_view(), name="table-sizes"),
    re_path(_TABLES + r"/actions/refresh/?$", views.TableSizesRefreshView.as_view(), name="table-sizes-refresh"),
    re_path(_INSTANCE + r"/actions/collect-capacity/?$", views.CollectCapacityView.as_view(), name="collect-capacity"),
]
