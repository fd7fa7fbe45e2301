"""Team scopes, applied in one place: the admin base and the API views ask here which instances a
user may see (README § Team scopes).

This module is the ground floor, so it does not know what a scope or an instance is: the
instances app registers the answer (:func:`visibility_register`, from its ``AppConfig.ready``),
as a function ``user -> QuerySet of instances | None`` (``None``: no scope, the global view).

A view declares how its rows reach an instance and nothing else:

- ``scope_instance_path = "account__instance"`` — rows are kept when that path is a visible
  instance (``"pk"`` on the instance model itself); a row whose path is empty (an alert about no
  instance) is not shown to a scoped user;
- ``scope_instance_path = None`` — rows are not about instances (tags, rules, users);
- or a ``scope_queryset(queryset, visible)`` method of its own (sessions: every record in scope);
- a view that answers from a selector rather than from its queryset passes the user's
  :func:`visible_instances` to it, and says so in ``scope_explicit`` (the test matrix,
  tests/scopes/test_matrix.py, requires one of these of every view of instance rows).

Out of scope, a row does not exist for the user: lists leave it out, details and admin pages
answer 404 (the admin: "does not exist"), admin actions never receive it. An action (POST, PUT,
PATCH, DELETE) on an instance outside the scope answers 403.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404

_registry: dict[str, object] = {}

#: the attribute caching a user's visible instances for the life of the request's user object
_CACHE = "_whalefall_visible_instances"
_UNSET = object()

SCOPE_DENIED = "This instance is outside your team scope."


def visibility_register(
    *, visible: Callable[[object], models.QuerySet | None], instance_model: type[models.Model]
) -> None:
    """Called once by the instances app: how to answer :func:`visible_instances`."""
    _registry["visible"] = visible
    _registry["model"] = instance_model


def instance_model() -> type[models.Model] | None:
    return _registry.get("model")  # type: ignore[return-value]


def visible_instances(user) -> models.QuerySet | None:
    """The instances ``user`` may see (a lazy queryset), or ``None`` for the global view (no scope,
    superusers). Cached on the user object: one query per request at most."""
    if user is None or not getattr(user, "is_authenticated", False):
        model = instance_model()
        return model._default_manager.none() if model is not None else None
    cached = getattr(user, _CACHE, _UNSET)
    if cached is _UNSET:
        visible = _registry.get("visible")
        cached = visible(user) if visible is not None else None
        setattr(user, _CACHE, cached)
    return cached


def scope_by_path(queryset: models.QuerySet, visible: models.QuerySet, path: str) -> models.QuerySet:
    """Rows of ``queryset`` whose ``path`` is one of ``visible``'s instances."""
    return queryset.filter(**{f"{path}__in": visible.values("pk")})


def visible_instance_ids(user, instance_ids: Iterable[int] | None) -> list[int] | None:
    """The instance ids an action of ``user`` may run on: ``instance_ids`` as given when all are in
    the user's scope (PermissionDenied, a 403, when one is not); for "every instance" (``None``),
    the user's visible instances (``None`` again for the global view)."""
    visible = visible_instances(user)
    if visible is None:
        return None if instance_ids is None else list(instance_ids)
    if instance_ids is None:  # what "every instance" means in a batch: the active ones (InstanceQuerySet)
        return list(visible.active().values_list("pk", flat=True))
    wanted = list(instance_ids)
    allowed = set(visible.filter(pk__in=wanted).values_list("pk", flat=True))
    if any(pk not in allowed for pk in wanted):
        raise PermissionDenied(SCOPE_DENIED)
    return wanted


def readable_instance_ids(user) -> list[int] | None:
    """For a read that takes instance ids (the SQL selectors): every instance of the user's team
    scope, active or not, as the global view (``None``) reads them all."""
    visible = visible_instances(user)
    return None if visible is None else list(visible.values_list("pk", flat=True))


def require_instance_in_scope(user, instance_id, *, acting: bool) -> None:
    """Reading (``acting`` false): an instance outside the scope does not exist (Http404). Acting:
    it is refused (PermissionDenied, a 403). Nothing for the global view."""
    visible = visible_instances(user)
    if visible is None:
        return
    if not visible.filter(pk=instance_id).exists():
        if acting:
            raise PermissionDenied(SCOPE_DENIED)
        raise Http404


class ScopedMixin:
    """What the admin base and the API views share: ``scope_instance_path`` and the filter."""

    #: how a row reaches its instance (``"pk"`` on Instance); None: rows are not about instances
    scope_instance_path: str | None = None

    def scope_queryset(self, queryset: models.QuerySet, visible: models.QuerySet) -> models.QuerySet:
        if self.scope_instance_path is None:
            return queryset
        return scope_by_path(queryset, visible, self.scope_instance_path)

    def scope_apply(self, queryset: models.QuerySet, user) -> models.QuerySet:
        visible = visible_instances(user)
        if visible is None:
            return queryset
        return self.scope_queryset(queryset, visible)


class ScopedViewMixin(ScopedMixin):
    """For DRF views. The scope is applied in ``filter_queryset`` — which every list and
    ``get_object`` go through, also with ``filter_backends = []`` and whatever ``get_queryset``
    a view writes; ``get_object`` of a row outside the scope answers 404 to a read and 403 to an
    action (POST, PUT, PATCH, DELETE)."""

    def filter_queryset(self, queryset):
        # after the filters: a filter may read other rows (the daily roll-ups read the daily sizes)
        return self.scope_apply(super().filter_queryset(queryset), self.request.user)

    def get_object(self):
        try:
            return super().get_object()
        except Http404:
            if self.request.method in ("GET", "HEAD", "OPTIONS") or visible_instances(self.request.user) is None:
                raise
            lookup = self.lookup_url_kwarg or self.lookup_field
            if self.get_queryset().filter(**{self.lookup_field: self.kwargs[lookup]}).exists():
                raise PermissionDenied(SCOPE_DENIED) from None
            raise
