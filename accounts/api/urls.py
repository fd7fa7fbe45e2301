"""/api/v1/ routes of the accounts app (included by whalefall/api_urls.py).

`register(router)` adds viewsets to the shared router; `urlpatterns` holds
explicit paths (nested routes such as /instances/<id>/...).
"""

from django.urls import re_path

from accounts.api.views import AccountChangeViewSet, AccountViewSet, InstanceAccountListView


def register(router) -> None:
    router.register("accounts", AccountViewSet, basename="account")
    router.register("account-changes", AccountChangeViewSet, basename="accountchange")


urlpatterns: list = [
    re_path(r"^instances/(?P<instance_id>[0-9]+)/accounts/?$", InstanceAccountListView.as_view(),
            name="instance-accounts"),  # fmt: skip
]
