"""Which instances a user sees (README § Team scopes): the one selector every list, page,
export and action asks, through whalefall.scoping (registered in ``InstancesConfig.ready``)."""

from __future__ import annotations

from django.db.models import Exists, Func, OuterRef, Q, QuerySet

from instances.models import Credential, Instance, Scope


def instances_visible_to(user) -> QuerySet[Instance] | None:
    """The instances ``user`` may see and act on, as one lazy query: those matched by any of its
    scopes (an instance is matched by a scope when it is in one of the scope's environments, if
    the scope names any, and carries one of the scope's tags, if the scope names any; a scope
    naming neither matches nothing). ``None`` — the global view — for a superuser and for a user
    in no scope. Deleted instances are included: each caller keeps its own rule for them."""
    if user.is_superuser:
        return None
    direct = Q(users=user) | Q(groups__user=user)
    if not Scope.objects.filter(direct).exists():
        return None
    # inside the subquery over scopes, OuterRef is the instance being tested
    in_environment = Q(environments=[]) | Q(environments__contains=Func(
        OuterRef("environment"), function="ARRAY", template="ARRAY[%(expressions)s]::varchar(20)[]"
    ))  # fmt: skip
    scope_tags = Scope.tags.through.objects.filter(scope_id=OuterRef("pk"))
    carries_tag = ~Exists(scope_tags) | Exists(
        scope_tags.filter(tag__instancetag__instance_id=OuterRef(OuterRef("pk")))
    )
    matching = Scope.objects.filter(direct).filter(Q(environments__len__gt=0) | Exists(scope_tags))
    return Instance.objects.filter(Exists(matching.filter(in_environment).filter(carries_tag)))


def credentials_within(visible: QuerySet[Instance]) -> QuerySet[Credential]:
    """The credentials a team scope may see, change and give to its instances: those no instance
    outside ``visible`` uses (deleted ones included). Another team's login is neither shown nor
    lent: an instance of ours pointed at a host we control would receive its password."""
    outside = Instance.objects.exclude(pk__in=visible.values("pk"))
    return Credential.objects.exclude(Exists(outside.filter(credential_id=OuterRef("pk"))))
