"""/api/v1/: one router for all apps; each app adds its viewsets and paths."""

from rest_framework.routers import DefaultRouter

from accounts.api import urls as accounts_urls
from capacity.api import urls as capacity_urls
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
accounts_urls.register(router)
capacity_urls.register(router)

# explicit (nested) paths first, so they win over the router's detail routes
urlpatterns = [*accounts_urls.urlpatterns, *capacity_urls.urlpatterns, *router.urls]
