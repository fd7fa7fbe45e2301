"""/api/v1/ routes of the accounts app (included by the root URL conf under the ``accounts`` namespace).

Explicit paths come first: nested routes such as /instances/<id>/accounts.
"""

from django.urls import re_path

from accounts.api.views import AccountChangeViewSet, AccountViewSet, InstanceAccountListView, WhoCanView
from whalefall.routers import api_router

app_name = "accounts"

router = api_router()
router.register("accounts", AccountViewSet, basename="account")
router.register("account-changes", AccountChangeViewSet, basename="accountchange")

urlpatterns = [
    re_path(r"^accounts/who-can/?$", WhoCanView.as_view(), name="who-can"),  # before accounts/<pk>/
    re_path(r"^instances/(?P<instance_id>[0-9]+)/accounts/?$", InstanceAccountListView.as_view(),
            name="instance-accounts"),  # fmt: skip
    *router.urls,
]
