"""Admin of instances and credentials, and the site-wide registry checks."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from accounts.models import PrivilegeEntry
from alerts.models import AlertWatermark
from instances.models import Credential, Instance, InstanceTag, Tag
from tests.support.factories import make_credential

PROJECT_APPS = ("audit", "instances", "accounts", "capacity", "classification", "sync_sessions", "alerts")
# link tables edited through their parent's admin; the alert detection's bookkeeping row; the
# who-can index (read through the "Who can…" page and the accounts' permissions)
NOT_REGISTERED = {InstanceTag, AlertWatermark, PrivilegeEntry}

pytestmark = pytest.mark.django_db

PLAIN = "Pl4intext-Secret!"


def _models_outside_project():
    return sorted(
        (m for m in admin.site._registry if m._meta.app_label not in PROJECT_APPS), key=lambda m: m._meta.label
    )


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_project_model_is_registered():
    missing = [
        m._meta.label
        for label in PROJECT_APPS
        for m in apps.get_app_config(label).get_models()
        if m not in admin.site._registry and m not in NOT_REGISTERED
    ]
    assert missing == []


def test_list_select_related_is_always_a_tuple():
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in PROJECT_APPS:
            assert isinstance(model_admin.list_select_related, tuple), model._meta.label


def test_site_header(admin_client_logged_in):
    response = admin_client_logged_in.get(reverse("admin:index"))
    assert response.status_code == 200
    assert b"WhaleFall" in response.content


@pytest.mark.parametrize("model", _models_outside_project(), ids=lambda m: m._meta.label)
def test_third_party_changelist_and_add(admin_client_logged_in, model):
    assert admin_client_logged_in.get(_url(model, "changelist")).status_code == 200
    if admin.site._registry[model].has_add_permission(_request_for(admin_client_logged_in)):
        assert admin_client_logged_in.get(_url(model, "add")).status_code == 200


@pytest.mark.parametrize(
    "model",
    sorted((m for m in admin.site._registry if m._meta.app_label == "instances"), key=lambda m: m._meta.label),
    ids=lambda m: m._meta.label,
)
def test_changelist_and_add_views(admin_client_logged_in, instance, model):
    assert admin_client_logged_in.get(_url(model, "changelist")).status_code == 200
    assert admin_client_logged_in.get(_url(model, "changelist") + "?q=x").status_code == 200
    assert admin_client_logged_in.get(_url(model, "add")).status_code == 200


def _request_for(client):
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = get_user_model().objects.get(username="admin")
    return request


# --- credentials ----------------------------------------------------------------


def _add_credential(client, **overrides):
    data = {"name": "prod-monitor", "username": "monitor", "password": PLAIN}
    data.update(overrides)
    return client.post(_url(Credential, "add"), data)


def test_credential_add_stores_encrypted_password(admin_client_logged_in):
    response = _add_credential(admin_client_logged_in)
    assert response.status_code == 302
    credential = Credential.objects.get(name="prod-monitor")
    assert credential.username == "monitor"
    assert credential.password_encrypted and PLAIN not in credential.password_encrypted
    assert credential.get_password() == PLAIN


def test_credential_add_requires_password(admin_client_logged_in):
    response = _add_credential(admin_client_logged_in, password="")
    assert response.status_code == 200
    assert not Credential.objects.filter(name="prod-monitor").exists()
    assert response.context["adminform"].form.errors["password"]


def test_credential_password_is_never_rendered(admin_client_logged_in):
    _add_credential(admin_client_logged_in)
    credential = Credential.objects.get(name="prod-monitor")
    Instance.objects.create(name="db1", db_type_id="postgresql", host="h", port=5432, credential=credential)
    # a change with a new password, so the history has a "changed password" entry
    admin_client_logged_in.post(
        _url(Credential, "change", credential.pk), {"name": "prod-monitor", "username": "monitor", "password": PLAIN}
    )
    credential.refresh_from_db()
    ciphertext = credential.password_encrypted
    pages = {
        "changelist": _url(Credential, "changelist"),
        "change": _url(Credential, "change", credential.pk),
        "history": _url(Credential, "history", credential.pk),
        "delete": _url(Credential, "delete", credential.pk),
        "search": _url(Credential, "changelist") + "?q=prod",
        "autocomplete": reverse("admin:autocomplete")
        + "?app_label=instances&model_name=instance&field_name=credential&term=prod",
    }
    for name, url in pages.items():
        response = admin_client_logged_in.get(url)
        assert response.status_code == 200, name
        body = response.content.decode()
        assert PLAIN not in body, name
        assert ciphertext not in body, name
        assert "password_encrypted" not in body, name
    change_page = admin_client_logged_in.get(pages["change"]).content.decode()
    assert 'type="password"' in change_page
    assert 'value="' + PLAIN not in change_page
    for entry in LogEntry.objects.filter(object_id=str(credential.pk)):
        assert PLAIN not in entry.change_message and ciphertext not in entry.change_message


def test_credential_invalid_post_does_not_echo_password(admin_client_logged_in):
    make_credential(name="taken")
    response = _add_credential(admin_client_logged_in, name="taken")
    assert response.status_code == 200  # unique name error
    assert PLAIN not in response.content.decode()


def test_credential_change_without_password_keeps_it(admin_client_logged_in):
    credential = make_credential(name="keep", password=PLAIN)
    before = Credential.objects.get(pk=credential.pk).password_encrypted
    response = admin_client_logged_in.post(
        _url(Credential, "change", credential.pk), {"name": "keep-renamed", "username": "other", "password": ""}
    )
    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.name == "keep-renamed"
    assert credential.username == "other"
    assert credential.password_encrypted == before
    assert credential.get_password() == PLAIN


def test_credential_change_with_password_replaces_it(admin_client_logged_in):
    credential = make_credential(name="rotate", password="old-password")
    admin_client_logged_in.post(
        _url(Credential, "change", credential.pk), {"name": "rotate", "username": "monitor", "password": "new-Pw-2"}
    )
    credential.refresh_from_db()
    assert credential.get_password() == "new-Pw-2"


def test_credential_changelist_shows_instance_count(admin_client_logged_in, django_assert_max_num_queries):
    credentials = Credential.objects.bulk_create(
        [Credential(name=f"c{i:03d}", username="u", password_encrypted="x") for i in range(50)]
    )
    Instance.objects.bulk_create(
        [
            Instance(name=f"i{i:03d}", db_type_id="mysql", host="h", port=3306, credential=credentials[i % 5])
            for i in range(20)
        ]
    )
    with django_assert_max_num_queries(8):
        response = admin_client_logged_in.get(_url(Credential, "changelist"))
    assert response.status_code == 200
    counts = {obj.name: obj._instance_count for obj in response.context["cl"].result_list}
    assert counts["c000"] == 4 and counts["c049"] == 0


# --- instances ------------------------------------------------------------------


def test_instance_add_through_admin(admin_client_logged_in, credential):
    tag = Tag.objects.create(name="prod")
    response = admin_client_logged_in.post(
        _url(Instance, "add"),
        {
            "name": "pg-main",
            "db_type": "postgresql",
            "environment": "production",
            "is_active": "on",
            "tag_choices": [tag.pk],
            "description": "",
            "host": "db.example.com",
            "port": "5432",
            "database_name": "",
            "credential": credential.pk,
            "connect_timeout": "",
            "statement_timeout": "",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    created = Instance.objects.get(name="pg-main")
    assert created.credential == credential
    assert [t.name for t in created.tags.all()] == ["prod"]

    # change: drop the tag, keep the rest
    response = admin_client_logged_in.post(
        _url(Instance, "change", created.pk),
        {
            "name": "pg-main",
            "db_type": "postgresql",
            "environment": "staging",
            "is_active": "on",
            "description": "",
            "host": "db.example.com",
            "port": "5433",
            "database_name": "",
            "credential": credential.pk,
            "connect_timeout": "",
            "statement_timeout": "",
        },
    )
    assert response.status_code == 302
    created.refresh_from_db()
    assert (created.environment, created.port, created.tags.count()) == ("staging", 5433, 0)


def test_instance_change_view(admin_client_logged_in, instance):
    Tag.objects.create(name="blue")
    response = admin_client_logged_in.get(_url(Instance, "change", instance.pk))
    assert response.status_code == 200
    assert instance.credential.password_encrypted not in response.content.decode()


def test_instance_changelist_query_budget(admin_client_logged_in, django_assert_max_num_queries):
    credentials = Credential.objects.bulk_create(
        [Credential(name=f"c{i}", username="u", password_encrypted="x") for i in range(10)]
    )
    tags = Tag.objects.bulk_create([Tag(name=f"t{i}") for i in range(5)])
    instances = Instance.objects.bulk_create(
        [
            Instance(
                name=f"inst-{i:03d}",
                db_type_id=("mysql", "postgresql")[i % 2],
                host=f"10.0.0.{i % 250}",
                port=3306,
                credential=credentials[i % 10],
                version="8.0.36",
            )
            for i in range(200)
        ]
    )
    InstanceTag.objects.bulk_create(
        [InstanceTag(instance=inst, tag=tags[j]) for i, inst in enumerate(instances) for j in range(i % 3)]
    )
    url = _url(Instance, "changelist")
    for query in ("", "?all=", f"?tags__id__exact={tags[1].pk}", "?q=inst-1", "?db_type__name__exact=mysql"):
        with django_assert_max_num_queries(12):
            response = admin_client_logged_in.get(url + query)
        assert response.status_code == 200, query
    body = admin_client_logged_in.get(url + "?all=").content.decode()
    assert "inst-199" in body and "t1" in body
    assert "password_encrypted" not in body


def test_instance_autocomplete_search(admin_client_logged_in, instance):
    url = reverse("admin:autocomplete") + "?app_label=accounts&model_name=instanceaccount&field_name=instance&term="
    response = admin_client_logged_in.get(url + instance.name[:4])
    assert response.status_code == 200
    assert instance.name in response.content.decode()


def _instance_form(credential, **overrides) -> dict:
    data = {
        "name": "pg-sized", "db_type": "postgresql", "environment": "staging", "is_active": "on", "description": "",
        "host": "db.example.com", "port": "5432", "database_name": "", "credential": credential.pk,
        "connect_timeout": "", "statement_timeout": "", "size_limit_bytes": "",
    }  # fmt: skip
    return {**data, **overrides}


def test_size_limit_is_typed_in_human_units(admin_client_logged_in, credential):
    response = admin_client_logged_in.post(_url(Instance, "add"), _instance_form(credential, size_limit_bytes="25 GB"))
    assert response.status_code == 302, response.content[:2000]
    created = Instance.objects.get(name="pg-sized")
    assert created.size_limit_bytes == 25 * 1024**3
    # shown back the way it was typed, so saving unchanged keeps it exact
    page = admin_client_logged_in.get(_url(Instance, "change", created.pk)).content.decode()
    assert 'name="size_limit_bytes"' in page and 'value="25 GB"' in page
    for typed, expected in (("500 MiB", 500 * 1024**2), ("1.5TB", int(1.5 * 1024**4)), ("26843545600", 25 * 1024**3)):
        form = _instance_form(credential, size_limit_bytes=typed)
        admin_client_logged_in.post(_url(Instance, "change", created.pk), form)
        created.refresh_from_db()
        assert created.size_limit_bytes == expected, typed


@pytest.mark.parametrize(("typed", "message"), [("25 GX", "Enter a size"), ("0", "at least 1"), ("1.5 B", "whole")])
def test_a_bad_size_limit_is_reported_beside_the_field(admin_client_logged_in, credential, typed, message):
    response = admin_client_logged_in.post(_url(Instance, "add"), _instance_form(credential, size_limit_bytes=typed))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["size_limit_bytes"] and message in errors["size_limit_bytes"][0]
    assert not Instance.objects.filter(name="pg-sized").exists()


def test_no_add_form_shows_a_value_the_database_has_not_given_yet(admin_client_logged_in):
    """created/updated at are filled in by the database: an add form leaves them out instead of
    printing ``<DatabaseDefault object at 0x…>``."""
    request = _request_for(admin_client_logged_in)
    for model, model_admin in admin.site._registry.items():
        if model_admin.has_add_permission(request):
            body = admin_client_logged_in.get(_url(model, "add")).content.decode()
            assert "DatabaseDefault" not in body, model._meta.label


@pytest.mark.parametrize(("port", "message"), [("0", "greater than or equal to 1"),
                                               ("65536", "less than or equal to 65535"),
                                               ("99999", "less than or equal to 65535")])  # fmt: skip
def test_a_bad_port_is_reported_beside_the_port_field(admin_client_logged_in, credential, port, message):
    response = admin_client_logged_in.post(_url(Instance, "add"), _instance_form(credential, port=port))
    form = response.context["adminform"].form
    assert list(form.errors) == ["port"] and not form.non_field_errors()  # not "Constraint … is violated" on top
    assert message in form.errors["port"][0]


def test_the_database_refuses_port_zero_too(instance):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError, match="instances_port_range"), transaction.atomic():
        Instance.objects.filter(pk=instance.pk).update(port=0)


def test_a_new_instance_has_no_environment_until_chosen(admin_client_logged_in, credential):
    form = admin_client_logged_in.get(_url(Instance, "add")).context["adminform"].form
    assert form.fields["environment"].choices[0] == ("", "Choose the environment") and not form.initial.get(
        "environment"
    )
    response = admin_client_logged_in.post(_url(Instance, "add"), _instance_form(credential, environment=""))
    assert list(response.context["adminform"].form.errors) == ["environment"]
    # the timeouts name the environment variables that set their defaults
    body = admin_client_logged_in.get(_url(Instance, "add")).content.decode()
    assert "WHALEFALL_CONNECT_TIMEOUT" in body and "WHALEFALL_STATEMENT_TIMEOUT" in body
