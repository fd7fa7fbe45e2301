"""Serializers for accounts, their permissions and the account change log (read-only),
and the input of the sync action."""

from __future__ import annotations

from collections.abc import Callable

from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from accounts.models import AccountChangeLog, AccountPermission, InstanceAccount
from accounts.selectors import (
    UnreadScopeView,
    account_privileges,
    account_reasons,
    account_unread_scopes,
    instance_unread_scopes,
)
from accounts.whocan import KNOWN_PRIVILEGES, OBJECT_PATTERN, object_parts
from instances.models import Instance
from sync_sessions.api.serializers import BatchRequestSerializer
from whalefall import serializers as strict
from whalefall.filters import ID_SCHEMA, QUERY_TEXT_MAX_LENGTH, TEXT_SCHEMA

#: read-only fields apps above this one add to every account serializer: name → field factory
_ACCOUNT_FIELDS: dict[str, Callable[[], serializers.Field]] = {}


def account_field_register(name: str, field_factory: Callable[[], serializers.Field]) -> None:
    """Add a read-only field ``name`` (a fresh ``field_factory()`` per serializer) to account
    serializers; its data must come from an ``accounts.selectors.account_list_step_register`` step."""
    _ACCOUNT_FIELDS[name] = field_factory


class AccountSerializer(strict.ModelSerializer):
    """One login on one instance with its permission flags (and what other apps add:
    classifications).

    The flags are null when the account has no permission row yet.
    """

    instance = serializers.IntegerField(source="instance_id", read_only=True, help_text="Instance id.")
    instance_name = serializers.CharField(source="instance.name", read_only=True)
    db_type = serializers.CharField(source="instance.db_type_id", read_only=True, help_text="Database type name.")
    is_superuser = serializers.BooleanField(source="permission.is_superuser", read_only=True, allow_null=True)
    can_grant = serializers.BooleanField(source="permission.can_grant", read_only=True, allow_null=True)
    is_locked = serializers.BooleanField(source="permission.is_locked", read_only=True, allow_null=True)

    class Meta:
        model = InstanceAccount
        fields = (
            "id",
            "instance",
            "instance_name",
            "db_type",
            "username",
            "host",
            "is_active",
            "is_superuser",
            "can_grant",
            "is_locked",
            "first_seen_at",
            "last_seen_at",
            "deactivated_at",
        )
        read_only_fields = fields

    def get_fields(self):
        fields = super().get_fields()
        fields.update((name, factory()) for name, factory in _ACCOUNT_FIELDS.items())
        return fields


class UnreadScopeSerializer(serializers.Serializer):
    """A scope the last account sync of the instance could not read (a database it may not connect to,
    a privilege table or view it may not select): the account's entries and roles in it are kept as
    they were stored, and the sync record is ``partial``."""

    name = serializers.CharField(help_text="database app, mysql.tables_priv, DBA_TAB_PRIVS, …")
    level = serializers.CharField(help_text="database (target: its name), or global (instance-wide, target '').")
    target = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(help_text="Why it could not be read, in the server's or the adapter's words.")
    not_read_since = serializers.DateTimeField(
        allow_null=True, help_text="The last sync that read it in full (null: never since WhaleFall knows it)."
    )


class AccountDetailSerializer(AccountSerializer):
    """An account with its roles, when its permissions last changed, and the scopes the last sync
    could not read that hold its entries or roles (kept as stored: ``unread_scopes``)."""

    roles = serializers.ListField(
        source="permission.roles", child=serializers.CharField(), read_only=True, allow_null=True
    )
    permissions_updated_at = serializers.DateTimeField(source="permission.updated_at", read_only=True, allow_null=True)
    unread_scopes = serializers.SerializerMethodField(
        help_text="Scopes the last sync could not read that hold entries or roles of this account, each with the "
        "last full read: what is stored there is kept, marked not read ([] after a full read)."
    )

    class Meta(AccountSerializer.Meta):
        fields = (*AccountSerializer.Meta.fields, "roles", "permissions_updated_at", "unread_scopes")
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_unread_scopes(self, obj: InstanceAccount) -> list[dict]:
        permission = getattr(obj, "permission", None)
        if permission is None:
            return []
        views = account_unread_scopes(
            facts=permission.facts, unread=instance_unread_scopes(instance_id=obj.instance_id)
        )
        return [UnreadScopeSerializer(view.as_dict()).data for view in views]


class EffectivePrivilegeSerializer(serializers.Serializer):
    """One effective privilege: held directly (``direct``) or through the roles in ``via``
    (the role holding the grant last); ``via_set_role``: only after SET ROLE (not counted);
    ``implied_by``: what the engine grants it for (null for an ACL entry)."""

    privilege = serializers.CharField()
    level = serializers.ChoiceField(choices=["global", "database", "schema", "object", "column"])
    target = serializers.CharField(allow_blank=True, help_text="What it is on ('' for global).")
    grantable = serializers.BooleanField()
    state = serializers.ChoiceField(choices=["GRANT", "DENY"])
    via = serializers.ListField(child=serializers.CharField())
    via_set_role = serializers.BooleanField()
    implied_by = serializers.CharField(
        allow_null=True,
        help_text="What the engine grants it for without an ACL entry (superuser, owner, sysadmin, control_server, "
        "dbo, db_owner and the other fixed roles, any_privilege, pg_read_all_data, …); null for a grant.",
    )
    direct = serializers.BooleanField()
    not_read = serializers.BooleanField(
        help_text="The last sync could not read the scope this entry lies in (see unread_scopes): it is kept as "
        "it was stored, neither confirmed nor removed."
    )
    not_read_since = serializers.DateTimeField(
        allow_null=True, help_text="When not_read: the last sync that read its scope in full (null: never)."
    )


class PasswordPolicySerializer(serializers.Serializer):
    """Whether the engine checks the login's new passwords against a policy, as the engine reports it."""

    enforced = serializers.BooleanField(allow_null=True, help_text="null: the engine cannot tell (see reason).")
    reason = serializers.CharField()


class AccountPermissionSerializer(strict.ModelSerializer):
    """Current permissions of one account: flags, roles (inherited included), the
    effective privileges with their paths, the engine-native ``snapshot`` and, with
    ``?explain=1``, the ``reasons`` for each flag that is set."""

    account = serializers.IntegerField(source="instance_account_id", read_only=True, help_text="Account id.")
    can_login = serializers.SerializerMethodField()
    privileges = serializers.SerializerMethodField()
    password_policy = serializers.SerializerMethodField()
    reasons = serializers.SerializerMethodField(
        help_text="With ?explain=1: {flag: [reason, …]} for each of is_superuser, can_grant, is_locked set; else null."
    )
    unread_scopes = serializers.SerializerMethodField(
        help_text="The scopes the last sync could not read that hold entries or roles of this account ([] after a "
        "full read)."
    )

    class Meta:
        model = AccountPermission
        fields = ("account", "is_superuser", "can_grant", "is_locked", "can_login", "password_policy", "roles",
                  "privileges", "unread_scopes", "reasons", "snapshot", "updated_at")  # fmt: skip
        read_only_fields = fields

    def _unread(self, obj: AccountPermission) -> list[UnreadScopeView]:
        # the view passes the instance's unread scopes (one query); read here when it did not
        unread = self.context.get("unread_scopes")
        if unread is None:
            unread = instance_unread_scopes(instance_id=obj.instance_account.instance_id)
        return unread

    @extend_schema_field(UnreadScopeSerializer(many=True))
    def get_unread_scopes(self, obj: AccountPermission) -> list[dict]:
        views = account_unread_scopes(facts=obj.facts, unread=self._unread(obj))
        return [UnreadScopeSerializer(view.as_dict()).data for view in views]

    def get_can_login(self, obj: AccountPermission) -> bool | None:
        return obj.facts.get("can_login")

    @extend_schema_field(EffectivePrivilegeSerializer(many=True))
    def get_privileges(self, obj: AccountPermission) -> list[dict]:
        privileges = account_privileges(facts=obj.facts, unread=self._unread(obj))
        for p in privileges:  # the same datetime format as every other field
            if p["not_read_since"] is not None:
                p["not_read_since"] = serializers.DateTimeField().to_representation(p["not_read_since"])
        return privileges

    @extend_schema_field(PasswordPolicySerializer(allow_null=True))
    def get_password_policy(self, obj: AccountPermission) -> dict | None:
        """null when the adapter reported none (the PUBLIC pseudo-account; facts stored before it was read)."""
        policy = obj.facts.get("password_policy")
        return policy if isinstance(policy, dict) else None

    @extend_schema_field(
        serializers.DictField(child=serializers.ListField(child=serializers.CharField()), allow_null=True)
    )
    def get_reasons(self, obj: AccountPermission) -> dict[str, list[str]] | None:
        return account_reasons(facts=obj.facts) if self.context.get("explain") else None


class PermissionsQuerySerializer(serializers.Serializer):
    """Query parameters of /accounts/<id>/permissions."""

    explain = strict.QueryFlagField(required=False, default=False, help_text="Add the reasons for each flag.")


class AccountChangeSerializer(strict.ModelSerializer):
    """One baseline/add/modify/remove/reactivate found by a sync. ``baseline`` is the instance's
    first successful sync: one entry for the instance (``account`` null, ``username`` empty,
    ``diff.baseline`` = ``account_count``, ``superusers``, ``can_grant``, ``locked`` and the first
    50 ``superusers_accounts`` / ``can_grant_accounts``); it writes no ``add`` entry per account."""

    instance = serializers.IntegerField(source="instance_id", read_only=True, help_text="Instance id.")
    instance_name = serializers.CharField(source="instance.name", read_only=True)
    account = serializers.IntegerField(
        source="instance_account_id", read_only=True, allow_null=True, help_text="Account id (null once deleted)."
    )
    session = serializers.UUIDField(
        source="session_id", read_only=True, allow_null=True, help_text="session_id of the sync that found it."
    )

    class Meta:
        model = AccountChangeLog
        fields = (
            "id",
            "instance",
            "instance_name",
            "account",
            "username",
            "host",
            "change_type",
            "diff",
            "session",
            "changed_at",
        )
        read_only_fields = fields
        extra_kwargs = {
            "change_type": {
                "help_text": "baseline: the instance's first sync (no account; what it found in diff.baseline); "
                "add/modify/remove/reactivate: one account."
            },
            "username": {"help_text": "The account's user name ('' for a baseline)."},
        }


class AccountSyncRequestSerializer(BatchRequestSerializer):
    """Which instances to sync; omitted means every active instance."""


# --- who can ----------------------------------------------------------------------------------


OBJECT_SCHEMA = {"type": "string", "minLength": 1, "maxLength": QUERY_TEXT_MAX_LENGTH, "pattern": OBJECT_PATTERN}


@extend_schema_field(OBJECT_SCHEMA)
class ObjectNameField(strict.QueryTextField):
    """An object name: 1 to 4 non-empty names separated by dots (``accounts.whocan.object_parts``)."""

    def __init__(self, **kwargs):
        super().__init__(allow_blank=False, **kwargs)

    def run_validation(self, data=empty):
        text = super().run_validation(data)  # the text's own checks (length, NUL) first
        try:
            return object_parts(text)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from None


class WhoCanQuerySerializer(serializers.Serializer):
    """Query parameters of /accounts/who-can/ (accounts/whocan.py states the rules)."""

    privilege = strict.QueryChoiceField(
        choices=KNOWN_PRIVILEGES,
        help_text="A privilege on databases, schemas, tables or columns, upper case (DELETE, SELECT, …).",
        error_messages={"invalid_choice": '"{input}" is not a privilege on databases, schemas, tables or columns of '
                        "the supported engines (names are upper case, e.g. DELETE)."},
    )  # fmt: skip
    object = ObjectNameField(
        help_text="db.table or db.routine (MySQL/MariaDB), db.schema.table (PostgreSQL, SQL Server; a PostgreSQL "
        "function as db.schema.f(integer, text)), OWNER.TABLE (Oracle); "
        "fewer parts ask at the database or schema level, one more asks a column. What is in no schema is named "
        "by its kind: db.LANGUAGE::plpgsql, TABLESPACE::fast, PARAMETER::work_mem (PostgreSQL), "
        "ENDPOINT::name (SQL Server). Read per instance's engine."
    )
    instance = strict.QueryIdField(required=False, help_text="Only this instance.")
    db_type = strict.QueryTextField(required=False, help_text="Only instances of this database type.")
    environment = strict.QueryChoiceField(
        choices=Instance.Environment.choices, required=False, help_text="Only instances of this environment."
    )
    tag = strict.QueryTextListField(required=False, help_text="Only instances with this tag (repeat: all of them).")
    include_set_role = strict.QueryBooleanField(
        required=False, default=False, help_text="Also privileges reachable only by SET ROLE."
    )
    include_inactive = strict.QueryBooleanField(
        required=False, default=False, help_text="Also accounts no longer on their instance (deactivated)."
    )
    include_contained = strict.QueryBooleanField(
        required=False, default=False,
        help_text="Also accounts holding the privilege only on something inside the object (a table of the "
        "database, a column of the table).",
    )  # fmt: skip

    def selector_kwargs(self) -> dict:
        """The arguments of ``accounts.selectors.who_can``."""
        data = self.validated_data
        return {
            "privilege": data["privilege"], "parts": data["object"], "instance_id": data.get("instance"),
            "db_type": data.get("db_type"), "environment": data.get("environment"), "tags": tuple(data.get("tag", ())),
            "include_set_role": data["include_set_role"], "include_inactive": data["include_inactive"],
            "include_contained": data["include_contained"],
        }  # fmt: skip


#: each query parameter's schema, exactly what WhoCanQuerySerializer accepts (drf-spectacular's own
#: mapping of serializer fields adds a "blank" alternative that would contradict the text pattern)
_WHO_CAN_PARAMETER_SCHEMAS = {
    "privilege": {"type": "string", "enum": list(KNOWN_PRIVILEGES)},
    "object": OBJECT_SCHEMA,
    "instance": ID_SCHEMA,
    "db_type": TEXT_SCHEMA,
    "environment": {"type": "string", "enum": list(Instance.Environment.values)},
    "tag": {"type": "array", "items": TEXT_SCHEMA},
    "include_set_role": {"type": "boolean", "default": False},
    "include_inactive": {"type": "boolean", "default": False},
    "include_contained": {"type": "boolean", "default": False},
}


def who_can_parameters() -> list[OpenApiParameter]:
    """The query parameters of /accounts/who-can/ for the OpenAPI schema (descriptions and
    required-ness from WhoCanQuerySerializer)."""
    return [
        OpenApiParameter(name, _WHO_CAN_PARAMETER_SCHEMAS[name], OpenApiParameter.QUERY, required=field.required,
                         description=str(field.help_text or ""), explode=name == "tag" or None)
        for name, field in WhoCanQuerySerializer().fields.items()
    ]  # fmt: skip


class WhoCanSerializer(serializers.Serializer):
    """An account holding the asked privilege on the asked object, with the effective privilege
    entry that grants it (accounts/whocan.py says which one when several do)."""

    account = serializers.IntegerField(help_text="Account id.")
    instance = serializers.IntegerField(help_text="Instance id.")
    instance_name = serializers.CharField()
    db_type = serializers.CharField(help_text="Database type name: how the object was read.")
    username = serializers.CharField(help_text="PUBLIC: a grant to every role/user (the PUBLIC pseudo-account).")
    host = serializers.CharField(allow_blank=True, help_text="MySQL/MariaDB host part; '' elsewhere.")
    privilege = serializers.CharField(help_text="The privilege of the entry: the asked one, ALL or CONTROL….")
    level = serializers.ChoiceField(choices=["global", "database", "schema", "object", "column"])
    target = serializers.CharField(allow_blank=True, help_text="What the entry is on ('' for global).")
    grantable = serializers.BooleanField()
    via = serializers.ListField(child=serializers.CharField(), help_text="Role path; [] = granted directly.")
    implied_by = serializers.CharField(
        allow_null=True, help_text="Why the engine grants it without an ACL entry (superuser, owner, …); null: a grant."
    )
    via_set_role = serializers.BooleanField(help_text="Held only after SET ROLE (only with include_set_role).")
