"""/api/v1/ routes of the sync_sessions app (included by the root URL conf under its ``sync_sessions`` namespace)."""

from sync_sessions.api.views import SyncInstanceRecordViewSet, SyncSessionViewSet
from whalefall.routers import api_router

app_name = "sync_sessions"

router = api_router()
router.register("sync-sessions", SyncSessionViewSet)
router.register("sync-records", SyncInstanceRecordViewSet)

urlpatterns = router.urls
