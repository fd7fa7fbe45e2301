"""The router every app's ``api/urls.py`` registers its viewsets on.

(Not in ``whalefall.api``: DRF's settings import that module while
``rest_framework.routers`` is still importing them.)"""

from rest_framework.routers import SimpleRouter


def api_router() -> SimpleRouter:
    """A router with an optional trailing slash. DRF >= 3.15 turns any truthy
    ``trailing_slash`` argument into "/", so the regex is set here."""
    router = SimpleRouter()
    router.trailing_slash = "/?"
    return router
