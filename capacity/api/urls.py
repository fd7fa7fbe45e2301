"""/api/v1/ routes of the capacity app (included by whalefall/api_urls.py).

`register(router)` adds viewsets to the shared router; `urlpatterns` holds
explicit paths (nested routes such as /instances/<id>/...).
"""


def register(router) -> None:
    pass


urlpatterns: list = []
