"""/api/v1/ routes of the classification app (included by the root URL conf under the
``classification`` namespace). Explicit paths first."""

from django.urls import re_path

from classification.api import views
from whalefall.routers import api_router

app_name = "classification"

router = api_router()
router.register("classification/classifications", views.ClassificationViewSet, basename="classification")
router.register("classification/rules", views.RuleViewSet, basename="rule")
router.register("classification/assignments", views.AssignmentViewSet, basename="assignment")
router.register("classification/history", views.HistoryViewSet, basename="history")
router.register("classification/stats", views.DailyStatViewSet, basename="stat")

urlpatterns = [
    re_path(r"^classification/rules/validate/?$", views.RuleValidateView.as_view(), name="rule-validate"),
    re_path(r"^classification/rules/preview/?$", views.RulePreviewView.as_view(), name="rule-preview"),
    re_path(r"^classification/actions/run/?$", views.ClassifyRunView.as_view(), name="run"),
    *router.urls,
]
