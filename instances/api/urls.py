"""/api/v1/ routes of the instances app (included by the root URL conf under the ``instances`` namespace).

Other apps add their actions on instances to ``InstanceViewSet`` with
``instances.api.views.instance_action_register`` (before these URLs are built).
"""

from instances.api.views import CredentialViewSet, DatabaseTypeViewSet, InstanceViewSet
from whalefall.routers import api_router

app_name = "instances"

router = api_router()
router.register("database-types", DatabaseTypeViewSet)
router.register("credentials", CredentialViewSet)
router.register("instances", InstanceViewSet)

urlpatterns = router.urls
