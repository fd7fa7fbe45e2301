"""Root URL conf: the admin, /api/v1/ (every app's ``api/urls.py`` under its own
namespace, each registered the same way), the OpenAPI schema and its docs page."""

from importlib import import_module

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import APIRootView

from console.metrics import metrics_view
from console.views import TokenView, healthz

#: apps with an ``api/urls.py`` (``app_name`` = namespace, ``router`` = their viewsets), in include order
API_APPS = ("instances", "sync_sessions", "accounts", "capacity", "classification")


def _api_root() -> path:
    """GET /api/v1/: a link to the list of every viewset of every app."""
    links = {}
    for app in API_APPS:
        module = import_module(f"{app}.api.urls")
        for prefix, _viewset, basename in module.router.registry:
            links[prefix] = f"{module.app_name}:{basename}-list"
    return path("", APIRootView.as_view(api_root_dict=links), name="api-root")


api_v1 = [
    _api_root(),
    path("auth/token/", TokenView.as_view(), name="api-token"),
    *(path("", include(f"{app}.api.urls")) for app in API_APPS),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

handler400 = "whalefall.api.bad_request"
handler404 = "whalefall.api.not_found"
handler500 = "whalefall.api.server_error"
