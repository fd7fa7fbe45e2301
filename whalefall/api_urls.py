"""/api/v1/: one router for all apps (each app registers its viewsets)."""

from rest_framework.routers import DefaultRouter

router = DefaultRouter(trailing_slash="/?")
urlpatterns = router.urls
