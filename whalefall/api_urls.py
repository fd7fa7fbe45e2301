"""/api/v1/: one router for all apps (each app registers its viewsets)."""

from rest_framework.routers import DefaultRouter

from instances.api.views import CredentialViewSet, DatabaseTypeViewSet, InstanceViewSet
from sync_sessions.api.views import SyncInstanceRecordViewSet, SyncSessionViewSet

router = DefaultRouter()
# Optional trailing slash. DRF >= 3.15 turns any truthy ``trailing_slash`` argument into "/", so set the regex here.
router.trailing_slash = "/?"
router.register("database-types", DatabaseTypeViewSet)
router.register("credentials", CredentialViewSet)
router.register("instances", InstanceViewSet)
router.register("sync-sessions", SyncSessionViewSet)
router.register("sync-records", SyncInstanceRecordViewSet)
urlpatterns = router.urls
