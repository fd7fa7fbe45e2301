"""No row of an instance outside a user's team scope leaks (README § Team scopes).

Roles (viewer, operator, admin) × scopes (none, by tag, by environment) × every operation of
the OpenAPI schema and every page of ``admin.site._registry`` (both enumerated, so a new
endpoint or admin is covered without touching this file), over the demo estate (four instances
with accounts, changes, sizes, roll-ups, classifications and runs) plus table sizes, alerts, audit
entries and one single-instance run per instance:

- a scoped user's answers never name an instance outside the scope, and list no row of one
  (ids checked against the rows the view's scope path excludes);
- a detail outside the scope is 404, an action on it 403 (API); an admin page of one does not
  exist (redirect with "doesn't exist" or 404) and an admin action never reaches it;
- users without a scope see every instance (the control: the out-of-scope rows are there).

The estate is built once for the class (``setUpTestData``); every check is collected and the
failures reported together.
"""

from __future__ import annotations

import re
import time
import uuid

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client, TestCase
from django.urls import resolve, reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts.models import AccountUnreadScope
from alerts.models import AlertChannel, AlertDelivery, AlertEvent
from audit.models import AuditEvent
from capacity.models import DatabaseTableSizeStat, InstanceDatabase
from console.demo import demo_data_load
from instances.models import Instance, Scope, Tag
from sync_sessions.models import SyncSession, SyncType
from sync_sessions.selectors import sessions_in_scope
from sync_sessions.services import session_create
from whalefall.scoping import ScopedMixin

ROLES = ("viewer", "operator", "admin")
SCOPES = ("none", "tag", "environment")
#: what each scope sees of the demo estate
VISIBLE = {
    "tag": {"demo-pg-billing"},
    "environment": {"demo-mysql-orders", "demo-pg-billing"},
}
ALL = {"demo-mysql-orders", "demo-pg-billing", "demo-mssql-erp", "demo-oracle-hr"}
#: query strings a list needs to answer anything
LIST_QUERY = {
    "/api/v1/accounts/who-can/": {"privilege": "SELECT", "object": "orders"},
    "/api/v1/capacity/top-growers/": {"days": "90"},
}
#: operations whose answer is not about instances at all (the token endpoint)
NOT_ABOUT_INSTANCES = {"/api/v1/auth/token/"}


def _operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (path, method.upper())
        for path, item in schema["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    )


def _view_class(path: str):
    concrete = re.sub(r"\{[^}]+\}", lambda m: str(uuid.UUID(int=1)) if "session_id" in m.group(0) else "1", path)
    return getattr(resolve(concrete).func, "cls", None)


def _scoped(view_or_admin) -> bool:
    """Whether a view/admin filters by team scope (declared a path or its own scope_queryset, or
    says how its selector is given the scope)."""
    if getattr(view_or_admin, "scope_explicit", ""):
        return True
    return isinstance(view_or_admin, ScopedMixin) and (
        view_or_admin.scope_instance_path is not None
        or type(view_or_admin).scope_queryset is not ScopedMixin.scope_queryset
    )


def _rows(body) -> list:
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        return body["results"]
    return body if isinstance(body, list) else []


class TeamScopeMatrix(TestCase):
    @classmethod
    def setUpTestData(cls):
        started = time.monotonic()
        demo_data_load()
        cls.instances = {i.name: i for i in Instance.objects.all()}
        billing = Tag.objects.create(name="billing")
        cls.instances["demo-pg-billing"].tags.add(billing)
        now = timezone.now()
        channel = AlertChannel.objects.create(name="ops", kind="webhook", url="http://127.0.0.1:9/hook")
        for name, instance in cls.instances.items():
            session_create(sync_type=SyncType.MANUAL_SINGLE, sync_category="account", instances=[instance])
            database = InstanceDatabase.objects.filter(instance=instance).first()
            DatabaseTableSizeStat.objects.create(
                instance=instance, database_name=database.name, table_name=f"tbl_{name}", size_bytes=1,
                collected_at=now,
            )  # fmt: skip
            event = AlertEvent.objects.create(
                kind="account_superuser", severity="high", dedup_key=f"scope-test:{instance.pk}",
                title=f"alert on {name}", instance=instance,
            )  # fmt: skip
            AlertDelivery.objects.create(event=event, channel=channel)
            AccountUnreadScope.objects.create(
                instance=instance, name=f"database unread_{name}", level="database", target=f"unread_{name}",
                reason="no CONNECT", last_unread_at=now,
            )  # fmt: skip
            AuditEvent.objects.create(channel="api", action="instances.instance.update", outcome="success",
                                      object_type="instances.instance", object_id=str(instance.pk),
                                      detail={"name": name})  # fmt: skip

        tag_scope = Scope.objects.create(name="team-billing")
        tag_scope.tags.add(billing)
        env_scope = Scope.objects.create(name="prod-oncall", environments=["production"])
        scope_of = {"tag": tag_scope, "environment": env_scope}
        cls.users = {}
        for role in ROLES:
            for scope in SCOPES:
                user = get_user_model().objects.create_user(f"{role}-{scope}", password="x", is_staff=True)
                user.groups.add(Group.objects.get(name=role))
                if scope != "none":
                    if role == "operator":  # through a group, the others directly
                        team = Group.objects.create(name=f"team-{scope}")
                        scope_of[scope].groups.add(team)
                        user.groups.add(team)
                    else:
                        scope_of[scope].users.add(user)
                cls.users[(role, scope)] = user
        cls.setup_seconds = time.monotonic() - started

    # --- helpers ------------------------------------------------------------------------------

    def _outside(self, scope: str) -> set[str]:
        return ALL - VISIBLE[scope] if scope != "none" else set()

    def _visible_qs(self, scope: str):
        return Instance.objects.filter(name__in=VISIBLE[scope])

    def _out_rows(self, scoped, model, scope: str) -> list:
        """pks of ``model`` rows the scoped view/admin must not show for ``scope``."""
        inside = scoped.scope_queryset(model._default_manager.all(), self._visible_qs(scope))
        return list(model._default_manager.exclude(pk__in=inside.values("pk")).values_list("pk", flat=True))

    def _api(self, role: str, scope: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(get_user_model().objects.get(pk=self.users[(role, scope)].pk))
        return client

    def _admin(self, role: str, scope: str) -> Client:
        client = Client()
        client.force_login(self.users[(role, scope)])
        return client

    def _leaks(self, body: str, scope: str) -> list[str]:
        return sorted(name for name in self._outside(scope) if name in body)

    # --- the API ------------------------------------------------------------------------------

    def test_api(self):
        failures, checked = [], 0
        operations = [(p, m) for p, m in _operations() if p not in NOT_ABOUT_INSTANCES]
        for role in ROLES:
            for scope in SCOPES:
                client = self._api(role, scope)
                for path, method in operations:
                    checked += 1
                    failures += self._api_check(client, role, scope, path, method)
        self.__class__.api_checks = checked
        assert not failures, f"{len(failures)} of {checked} API checks failed:\n" + "\n".join(failures)

    def _api_check(self, client, role, scope, path, method) -> list[str]:
        cls = _view_class(path)
        view = cls() if cls is not None else None
        params = re.findall(r"\{([^}]+)\}", path)
        if not params:
            if method == "GET":
                return self._api_list(client, scope, path, view)
            return self._api_batch(client, role, scope, path, method)
        return self._api_object(client, role, scope, path, method, view, params)

    def _api_list(self, client, scope, path, view) -> list[str]:
        failures = []
        for fmt in ("json", "csv"):
            query = {**LIST_QUERY.get(path, {}), **({"format": "csv"} if fmt == "csv" else {})}
            response = client.get(path, query)
            if fmt == "csv" and response.status_code in (404, 406):
                continue  # no CSV on this list
            body = b"".join(response.streaming_content) if response.streaming else response.content
            text = body.decode()
            if response.status_code >= 500:
                failures.append(f"{scope}: GET {path} ({fmt}) → {response.status_code}")
            if leaks := self._leaks(text, scope):
                failures.append(f"{scope}: GET {path} ({fmt}) names {leaks}")
            if fmt == "json" and response.status_code == 200 and scope != "none" and isinstance(view, ScopedMixin):
                model = view.queryset.model if getattr(view, "queryset", None) is not None else None
                if model is not None:
                    out = set(self._out_rows(view, model, scope))
                    key = getattr(view, "lookup_field", "pk")
                    key = "id" if key == "pk" else key
                    shown = {row.get(key) for row in _rows(response.json()) if isinstance(row, dict)}
                    out_keys = {str(v) if key == "session_id" else v for v in self._out_keys(model, out, key)}
                    if bad := shown & out_keys:
                        failures.append(
                            f"{scope}: GET {path} lists rows outside the scope: {sorted(map(str, bad))[:5]}"
                        )
        return failures

    def _out_keys(self, model, pks, key):
        if key == "id":
            return pks
        return {str(v) for v in model._default_manager.filter(pk__in=pks).values_list(key, flat=True)}

    def _api_batch(self, client, role, scope, path, method) -> list[str]:
        """A POST without an object in the URL: those naming instance ids are refused outside the scope."""
        if (
            method != "POST"
            or scope == "none"
            or not path.endswith(
                (
                    "/actions/sync/",
                    "/actions/run/",
                    "/actions/aggregate/",
                    "/actions/test-connection/",
                    "/actions/check-privileges/",
                )
            )
        ):
            if method == "POST" and path == "/api/v1/classification/assignments/" and scope != "none":
                return self._assign_outside(client, scope)
            if method == "POST" and path == "/api/v1/classification/rules/preview/" and scope != "none":
                response = client.post(path, {}, format="json")
                return [] if response.status_code == 403 else [f"{scope}: POST {path} → {response.status_code}"]
            return []
        out = self.instances[sorted(self._outside(scope))[0]].pk
        response = client.post(path, {"instance_ids": [out]}, format="json")
        if response.status_code != 403:
            return [f"{scope}/{role}: POST {path} on an instance outside the scope → {response.status_code}"]
        return []

    def _assign_outside(self, client, scope) -> list[str]:
        from accounts.models import InstanceAccount
        from classification.models import AccountClassification

        account = InstanceAccount.objects.filter(instance__name__in=self._outside(scope)).first()
        classification = AccountClassification.objects.first()
        response = client.post(
            "/api/v1/classification/assignments/",
            {"account": account.pk, "classification": classification.pk},
            format="json",
        )
        return [] if response.status_code == 403 else [f"{scope}: assigning outside the scope → {response.status_code}"]

    def _api_object(self, client, role, scope, path, method, view, params) -> list[str]:
        if view is None:
            return [f"{path}: no view"]
        if "instance_id" in params:
            outside_obj = self._outside_instance_path(scope, path)
            inside_obj = self._inside_instance_path(scope, path)
        elif "session_id" in params:
            outside_obj, inside_obj = self._session_paths(scope, path)
        else:
            if not _scoped(view):
                return []  # rows not about instances (classifications, rules, credentials, engines)
            model = view.queryset.model
            outside_obj = self._outside_by_pk(view, model, scope, path)
            inside_obj = self._inside_by_pk(view, model, scope, path)
        failures = []
        if scope == "none":
            return []
        if outside_obj is None:
            return [f"{scope}: {path}: no row outside the scope to try (test data)"]
        if method == "GET":
            if path.endswith("/privilege-check/") and role != "operator" and role != "admin":
                return []
            response = client.get(outside_obj)
            if response.status_code not in (404, 403):
                failures.append(f"{scope}/{role}: GET {outside_obj} → {response.status_code}, not 404")
            if response.status_code == 403 and role == "operator":
                failures.append(f"{scope}/{role}: GET {outside_obj} → 403, not 404")
            if leaks := self._leaks(response.content.decode(), scope):
                failures.append(f"{scope}: GET {outside_obj} names {leaks}")
            if inside_obj is not None and not path.endswith("/privilege-check/"):
                response = client.get(inside_obj, LIST_QUERY.get(path, {}))
                if response.status_code == 404:
                    failures.append(f"{scope}/{role}: GET {inside_obj} (in scope) → 404")
                if leaks := self._leaks(response.content.decode(), scope):
                    failures.append(f"{scope}: GET {inside_obj} names {leaks}")
        else:
            response = getattr(client, method.lower())(outside_obj, {}, format="json")
            if response.status_code != 403:
                failures.append(f"{scope}/{role}: {method} {outside_obj} → {response.status_code}, not 403")
        return failures

    def _fill(self, path: str, **values) -> str:
        return re.sub(r"\{([^}]+)\}", lambda m: str(values[m.group(1)]), path)

    def _instance_path(self, names, path):
        instance = self.instances[sorted(names)[0]]
        database = InstanceDatabase.objects.filter(instance=instance).order_by("name").first()
        return self._fill(path, instance_id=instance.pk, database=database.name)

    def _outside_instance_path(self, scope, path):
        return self._instance_path(self._outside(scope), path) if scope != "none" else None

    def _inside_instance_path(self, scope, path):
        return self._instance_path(VISIBLE[scope], path) if scope != "none" else None

    def _session_paths(self, scope, path):
        if scope == "none":
            return None, None
        inside = sessions_in_scope(SyncSession.objects.all(), self._visible_qs(scope))
        outside = SyncSession.objects.exclude(pk__in=inside.values("pk")).first()
        inside = inside.first()
        return (
            self._fill(path, session_id=outside.session_id) if outside else None,
            self._fill(path, session_id=inside.session_id) if inside else None,
        )

    def _outside_by_pk(self, view, model, scope, path):
        if scope == "none":
            return None
        out = self._out_rows(view, model, scope)
        return self._fill(path, id=out[0], name="x") if out else None

    def _inside_by_pk(self, view, model, scope, path):
        if scope == "none":
            return None
        inside = view.scope_queryset(model._default_manager.all(), self._visible_qs(scope)).first()
        return self._fill(path, id=inside.pk) if inside else None

    def test_api_without_scope_sees_everything(self):
        """The control: a user in no scope is answered every instance, as before scopes."""
        for role in ROLES:
            body = self._api(role, "none").get("/api/v1/instances/", {"page_size": 100}).json()
            assert {row["name"] for row in body["results"]} >= ALL
        scoped = self._api("viewer", "environment").get("/api/v1/instances/", {"page_size": 100}).json()
        assert {row["name"] for row in scoped["results"]} == VISIBLE["environment"]

    # --- the admin ----------------------------------------------------------------------------

    def test_admin(self):
        failures, checked = [], 0
        self.autocomplete_controls = 0
        pages = [
            reverse("admin:index"),
            reverse("admin:accounts_who_can") + "?privilege=SELECT&object=orders",
            reverse("admin:capacity_top_growers") + "?days=90",
        ]
        for role in ROLES:
            for scope in SCOPES:
                client = self._admin(role, scope)
                for url in pages:
                    checked += 1
                    response = client.get(url)
                    if response.status_code != 200:
                        failures.append(f"{scope}/{role}: {url} → {response.status_code}")
                    if leaks := self._leaks(response.content.decode(), scope):
                        failures.append(f"{scope}/{role}: {url} names {leaks}")
                for model, model_admin in admin.site._registry.items():
                    checked += 1
                    failures += self._admin_model(client, role, scope, model, model_admin)
                if scope != "none":
                    checked += 1
                    failures += self._admin_instance_pages(client, role, scope)
        self.__class__.admin_checks = checked
        assert self.autocomplete_controls, "no instance autocomplete answered the control user"
        assert not failures, f"{len(failures)} of {checked} admin checks failed:\n" + "\n".join(failures)

    def _admin_model(self, client, role, scope, model, model_admin) -> list[str]:
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        response = client.get(changelist)
        if response.status_code == 403:
            return []  # the role does not view these
        failures = []
        if response.status_code != 200:
            failures.append(f"{scope}/{role}: {changelist} → {response.status_code}")
        if leaks := self._leaks(response.content.decode(), scope):
            failures.append(f"{scope}/{role}: {changelist} names {leaks}")
        for field in model_admin.autocomplete_fields:  # the search box of an instance field
            query = {"app_label": opts.app_label, "model_name": opts.model_name, "field_name": field, "term": "demo"}
            answer = client.get(reverse("admin:autocomplete"), query)
            if leaks := self._leaks(answer.content.decode(), scope):
                failures.append(f"{scope}/{role}: autocomplete of {opts.label}.{field} offers {leaks}")
            elif (
                scope == "none" and answer.status_code == 200 and model._meta.get_field(field).related_model is Instance
            ):
                self.autocomplete_controls += 1
                if not {row["text"] for row in answer.json()["results"]} >= ALL:
                    failures.append(f"{role}: autocomplete of {opts.label}.{field} without a scope misses instances")
        if scope == "none" or not _scoped(model_admin):
            return failures
        out = self._out_rows(model_admin, model, scope)
        if not out:
            return failures
        change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[out[0]])
        if change in response.content.decode():
            failures.append(f"{scope}/{role}: {changelist} links {change}")
        page = client.get(change)
        if page.status_code not in (302, 404):
            failures.append(f"{scope}/{role}: {change} (outside) → {page.status_code}")
        if "export_csv" in (model_admin.actions or ()):
            exported = client.post(changelist, {"action": "export_csv", "_selected_action": [str(pk) for pk in out[:5]],
                                                "select_across": "1", "index": "0"})  # fmt: skip
            body = b"".join(exported.streaming_content).decode() if exported.streaming else exported.content.decode()
            if leaks := self._leaks(body, scope):
                failures.append(f"{scope}/{role}: CSV export of {changelist} names {leaks}")
        return failures

    def _admin_instance_pages(self, client, role, scope) -> list[str]:
        """The capacity pages and the buttons of one instance outside the scope."""
        failures = []
        out = self.instances[sorted(self._outside(scope))[0]]
        database = InstanceDatabase.objects.filter(instance=out).first()
        for url in (
            reverse("admin:capacity_instance_capacity", args=[out.pk]),
            reverse("admin:capacity_database_capacity", args=[out.pk, database.name]),
            reverse("admin:instances_instance_change", args=[out.pk]),
        ):
            response = client.get(url)
            if response.status_code not in (302, 403, 404):
                failures.append(f"{scope}/{role}: {url} (outside) → {response.status_code}")
            if leaks := self._leaks(response.content.decode(), scope):
                failures.append(f"{scope}/{role}: {url} names {leaks}")
        for url in (
            reverse("admin:capacity_instance_collect", args=[out.pk]),
            reverse("admin:capacity_table_sizes_refresh", args=[out.pk, database.name]),
            reverse("admin:instances_instance_run", args=[out.pk, "sync_accounts_action"]),
        ):
            response = client.post(url)
            if response.status_code not in (403, 404):
                failures.append(f"{scope}/{role}: POST {url} (outside) → {response.status_code}")
        # an admin action with a row outside the scope selected: the row never reaches it
        sessions_before = SyncSession.objects.count()
        client.post(reverse("admin:instances_instance_changelist"),
                    {"action": "sync_accounts_action", "_selected_action": [str(out.pk)], "index": "0"})  # fmt: skip
        if SyncSession.objects.count() != sessions_before:
            failures.append(f"{scope}/{role}: the admin action ran on an instance outside the scope")
        return failures

    # --- every view says how it is scoped -----------------------------------------------------

    def test_every_view_of_instance_rows_declares_its_scope(self):
        """An admin or API view over rows that belong to instances declares how (a new one
        without a scope path fails here, before it can leak)."""
        unscoped = []
        for model, model_admin in admin.site._registry.items():
            if _reaches_instance(model) and not _scoped(model_admin):
                unscoped.append(f"admin {model._meta.label}")
        for path, _method in _operations():
            cls = _view_class(path)
            queryset = getattr(cls, "queryset", None)
            if queryset is not None and _reaches_instance(queryset.model) and not _scoped(cls()):
                unscoped.append(f"API {path}")
        assert not unscoped, "no team scope declared: " + ", ".join(sorted(set(unscoped)))


#: models about instances that are configuration, not instance rows (shown to everybody)
GLOBAL_MODELS = {"instances.Credential", "instances.Tag", "instances.DatabaseType", "instances.Scope"}


def _reaches_instance(model, depth: int = 3) -> bool:
    """Whether ``model`` is Instance or leads to one through foreign keys (at most ``depth``)."""
    if model is Instance:
        return True
    if model._meta.label in GLOBAL_MODELS or depth == 0:
        return False
    for field in model._meta.get_fields():
        forward = field.many_to_one or (field.one_to_one and field.concrete)
        if forward and field.related_model is not None and _reaches_instance(field.related_model, depth - 1):
            return True
    return False
