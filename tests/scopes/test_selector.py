"""The selector of team scopes: which instances a user sees (README § Team scopes)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from instances.models import Scope, Tag
from instances.scopes import instances_visible_to
from tests.support.factories import make_instance

pytestmark = pytest.mark.django_db


@pytest.fixture
def estate():
    billing, search = Tag.objects.create(name="billing"), Tag.objects.create(name="search")
    made = {
        "billing-prod": make_instance(name="billing-prod", environment="production"),
        "billing-dev": make_instance(name="billing-dev", environment="development"),
        "search-prod": make_instance(name="search-prod", environment="production"),
        "other-dev": make_instance(name="other-dev", environment="development"),
    }
    made["billing-prod"].tags.add(billing)
    made["billing-dev"].tags.add(billing)
    made["search-prod"].tags.add(search)
    return {"billing": billing, "search": search, **made}


def _user(name: str, *groups: Group):
    user = get_user_model().objects.create_user(name)
    user.groups.add(*groups)
    return user


def _names(user) -> list[str] | None:
    visible = instances_visible_to(user)
    return None if visible is None else sorted(visible.values_list("name", flat=True))


def test_no_scope_and_superuser_keep_the_global_view(estate):
    assert instances_visible_to(_user("nobody")) is None
    boss = get_user_model().objects.create_superuser("boss")
    Scope.objects.create(name="x", environments=["staging"]).users.add(boss)
    assert instances_visible_to(boss) is None


def test_tag_environment_both_and_union_over_groups(estate):
    by_tag = Scope.objects.create(name="billing")
    by_tag.tags.add(estate["billing"])
    oncall = Scope.objects.create(name="prod-oncall", environments=["production"])
    both = Scope.objects.create(name="billing-prod", environments=["production", "staging"])
    both.tags.add(estate["billing"], estate["search"])

    alice = _user("alice")
    by_tag.users.add(alice)
    assert _names(alice) == ["billing-dev", "billing-prod"]

    team = Group.objects.create(name="oncall")
    oncall.groups.add(team)
    bob = _user("bob", team)
    assert _names(bob) == ["billing-prod", "search-prod"]

    carol = _user("carol")
    both.users.add(carol)  # production or staging AND billing or search
    assert _names(carol) == ["billing-prod", "search-prod"]

    by_tag.users.add(bob)  # union: own scope and the group's
    assert _names(bob) == ["billing-dev", "billing-prod", "search-prod"]


def test_a_scope_naming_nothing_selects_nothing(estate):
    empty = Scope.objects.create(name="empty")
    dave = _user("dave")
    empty.users.add(dave)
    assert _names(dave) == []


def test_one_query_to_decide_one_to_list(estate):
    scope = Scope.objects.create(name="billing")
    scope.tags.add(estate["billing"])
    erin = _user("erin")
    scope.users.add(erin)
    with CaptureQueriesContext(connection) as queries:
        names = _names(erin)
    assert names == ["billing-dev", "billing-prod"]
    assert len(queries) == 2
