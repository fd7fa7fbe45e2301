"""The "Who can…" admin page, its links and the account list's privilege_on filter."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.services import accounts_apply
from console.roles import groups_ensure
from instances.adapters.base import AccountFacts, Privilege
from tests.support.factories import make_instance

pytestmark = pytest.mark.django_db

PAGE = "/admin/accounts/instanceaccount/who-can/"


@pytest.fixture
def estate(db):
    mysql = make_instance(name="my-prod", db_type="mysql", port=3306)
    pg = make_instance(name="pg-stage", db_type="postgresql")
    accounts_apply(instance=mysql, accounts=[
        AccountFacts("ann", "%", privileges=(Privilege("database", "DELETE", "app", via=("rw", "base")),)),
        AccountFacts("ops", "%", privileges=(Privilege("database", "DELETE", "app", via=("dba",),
                                                       via_set_role=True),)),
    ])  # fmt: skip
    accounts_apply(instance=pg, accounts=[
        *(AccountFacts(f"u{i:03d}", privileges=(Privilege("database", "DELETE", "app"),)) for i in range(150)),
        AccountFacts("postgres", privileges=(Privilege("global", "ALL", implied_by="superuser"),)),
    ])  # fmt: skip
    return {"mysql": mysql, "pg": pg}


def test_the_page_answers_with_links_role_paths_and_implied_by_badges(admin_client_logged_in, estate):
    response = admin_client_logged_in.get(PAGE, {"privilege": "delete", "object": "app.orders", "db_type": "mysql",
                                                 "include_set_role": "on"})  # fmt: skip
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 accounts can DELETE on app.orders" in html
    ann = response.context["page"].object_list[0]
    assert f'href="{reverse("admin:accounts_instanceaccount_change", args=[ann.account_id])}"' in html
    assert "rw → base" in html and "after SET ROLE" in html
    superuser = admin_client_logged_in.get(PAGE, {"privilege": "DELETE", "object": "app.public.t",
                                                  "db_type": "postgresql"})  # fmt: skip
    assert "implied by superuser" in superuser.content.decode()
    # the same answer as CSV (the API) and as an account list
    api = "/api/v1/accounts/who-can?privilege=DELETE&amp;object=app.orders&amp;db_type=mysql&amp;include_set_role=true"
    assert f'href="{api}"' in html and f'href="{api}&amp;format=csv"' in html
    assert "/accounts/instanceaccount/?privilege_on=app.orders&amp;has_privilege=DELETE" in html


def test_the_page_is_paginated_and_its_query_budget_is_fixed(
    admin_client_logged_in, estate, django_assert_max_num_queries
):
    with django_assert_max_num_queries(10):  # session, user, the three choice lists, instances, candidates …
        response = admin_client_logged_in.get(PAGE, {"privilege": "DELETE", "object": "app", "page": "2"})
    assert response.status_code == 200
    page = response.context["page"]
    assert page.paginator.count == 152 and page.number == 2 and len(page.object_list) == 52
    assert "page 2 of 2" in response.content.decode()


def test_an_empty_form_a_bad_privilege_and_a_malformed_object(admin_client_logged_in, estate):
    assert admin_client_logged_in.get(PAGE).status_code == 200
    response = admin_client_logged_in.get(PAGE, {"privilege": "FROB", "object": "a..b"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"privilege", "object"}
    assert "page" not in response.context


def test_viewers_may_use_it_others_may_not(client, estate):
    groups_ensure()
    viewer = get_user_model().objects.create_user("v", password="pw", is_staff=True)
    viewer.groups.add(Group.objects.get(name="viewer"))
    client.force_login(viewer)
    assert client.get(PAGE, {"privilege": "DELETE", "object": "app"}).status_code == 200
    stranger = get_user_model().objects.create_user("s", password="pw", is_staff=True)
    client.force_login(stranger)
    assert client.get(PAGE, {"privilege": "DELETE", "object": "app"}).status_code == 403


def test_the_dashboard_and_the_account_list_link_to_it(admin_client_logged_in, estate):
    assert PAGE in admin_client_logged_in.get(reverse("admin:index")).content.decode()
    assert PAGE in admin_client_logged_in.get(reverse("admin:accounts_instanceaccount_changelist")).content.decode()


def test_account_list_privilege_on_filter(admin_client_logged_in, estate, django_assert_max_num_queries):
    url = reverse("admin:accounts_instanceaccount_changelist")
    with django_assert_max_num_queries(20):
        response = admin_client_logged_in.get(url, {"privilege_on": "app.orders", "has_privilege": "DELETE",
                                                    "instance__db_type__name__exact": "mysql"})  # fmt: skip
    assert response.status_code == 200
    assert [a.username for a in response.context["cl"].result_list] == ["ann"]
    assert "DELETE on app.orders" in response.content.decode()  # the active filter, with an "All" reset
    malformed = admin_client_logged_in.get(url, {"privilege_on": "a..b"})
    assert malformed.status_code == 302 and "e=1" in malformed["Location"]
