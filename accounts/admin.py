"""Admin for accounts, their permissions and the account change log (all written by syncs: read-only)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ObjectDoesNotExist
from django.urls import reverse
from django.utils.html import format_html

from accounts.models import AccountChangeLog, AccountListing, AccountPermission, InstanceAccount
from accounts.services import accounts_sync_all
from instances.admin import instance_admin_action_register, instance_admin_link_register
from instances.models import Instance
from sync_sessions.admin import batch_admin_action
from whalefall.admin_tools import (
    BigTableAdmin,
    ReadOnlyAdminMixin,
    ReadOnlyInlineMixin,
    limited_formset,
    pretty_json,
    recent_date_filter,
)

CHANGE_HISTORY_LIMIT = 50


def _permission(account: InstanceAccount) -> AccountPermission | None:
    try:
        return account.permission
    except ObjectDoesNotExist:
        return None


def session_link(session_id) -> str:
    """Link to the sync session (by its uuid) in the sessions changelist."""
    if session_id is None:
        return "-"
    url = reverse("admin:sync_sessions_syncsession_changelist") + f"?session_id={session_id}"
    return format_html('<a href="{}">{}</a>', url, str(session_id)[:8])


class InstanceIdFilter(admin.SimpleListFilter):
    """Filter by one instance id (``?instance=<id>``) without listing every instance.

    Hidden until used: the instance admin links here ("Accounts", "Account
    changes"); once set it shows the instance's name and an "All" reset.
    Use the search box (instance name prefix) to find an instance by name.
    """

    title = "instance"
    parameter_name = "instance"

    def lookups(self, request, model_admin):
        # only the chosen instance is listed; a filter with no choices would not be applied at all
        value = self.value()
        if not value:
            return ()
        name = Instance.objects.filter(pk=value).values_list("name", flat=True).first() if value.isdigit() else None
        return ((value, name or f"{value} (unknown instance)"),)

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(instance_id=value) if value.isdigit() else queryset.none()


class AccountPermissionInline(ReadOnlyInlineMixin, admin.StackedInline):
    """Current permissions of the account (one row)."""

    model = AccountPermission
    fields = ("is_superuser", "can_grant", "is_locked", "roles", "updated_at", "facts_json", "snapshot_json")
    readonly_fields = fields
    verbose_name_plural = "Permissions"

    @admin.display(description="Facts (engine-neutral)")
    def facts_json(self, obj: AccountPermission) -> str:
        return pretty_json(obj.facts)

    @admin.display(description="Snapshot (engine-native)")
    def snapshot_json(self, obj: AccountPermission) -> str:
        return pretty_json(obj.snapshot)


class AccountChangeInline(ReadOnlyInlineMixin, admin.TabularInline):
    """The newest changes of the account (the full log is in "Account change log")."""

    model = AccountChangeLog
    fk_name = "instance_account"
    formset = limited_formset(CHANGE_HISTORY_LIMIT)
    fields = ("changed_at", "change_type", "diff_json", "session_ref")
    readonly_fields = fields
    ordering = ("-changed_at",)
    verbose_name_plural = f"Change history (newest {CHANGE_HISTORY_LIMIT})"

    @admin.display(description="Diff")
    def diff_json(self, obj: AccountChangeLog) -> str:
        return pretty_json(obj.diff)

    @admin.display(description="Session")
    def session_ref(self, obj: AccountChangeLog) -> str:
        return session_link(obj.session_id)


@admin.register(InstanceAccount)
class InstanceAccountAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Logins found on instances, with permissions and change history (apps above add
    theirs with ``account_admin_extend``: classifications)."""

    list_display = (
        "username",
        "host",
        "instance",
        "is_active",
        "is_superuser",
        "can_grant",
        "is_locked",
        "last_seen_at",
    )
    list_select_related = ("instance", "permission")
    list_filter = (
        InstanceIdFilter,
        "instance__db_type",
        "instance__environment",
        "is_active",
        "permission__is_superuser",
        "permission__can_grant",
        "permission__is_locked",
    )
    search_fields = ("^username", "^instance__name")
    autocomplete_fields = ("instance",)
    readonly_fields = (
        "instance",
        "username",
        "host",
        "is_active",
        "first_seen_at",
        "last_seen_at",
        "deactivated_at",
        "all_changes",
    )
    fieldsets = (
        (None, {"fields": ("instance", "username", "host", "is_active")}),
        ("Seen", {"fields": ("first_seen_at", "last_seen_at", "deactivated_at", "all_changes")}),
    )
    ordering = ("instance__name", "username", "host")
    inlines = (AccountPermissionInline, AccountChangeInline)
    show_facets = admin.ShowFacets.NEVER

    @admin.display(description="Superuser", boolean=True, ordering="permission__is_superuser")
    def is_superuser(self, obj: InstanceAccount) -> bool | None:
        permission = _permission(obj)
        return permission.is_superuser if permission else None

    @admin.display(description="Can grant", boolean=True, ordering="permission__can_grant")
    def can_grant(self, obj: InstanceAccount) -> bool | None:
        permission = _permission(obj)
        return permission.can_grant if permission else None

    @admin.display(description="Locked", boolean=True, ordering="permission__is_locked")
    def is_locked(self, obj: InstanceAccount) -> bool | None:
        permission = _permission(obj)
        return permission.is_locked if permission else None

    @admin.display(description="Change log")
    def all_changes(self, obj: InstanceAccount) -> str:
        url = reverse("admin:accounts_accountchangelog_changelist") + f"?instance_account__id__exact={obj.pk}"
        return format_html('<a href="{}">All changes of this account</a>', url)


@admin.register(AccountPermission)
class AccountPermissionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Current permissions, one row per account."""

    list_display = ("instance_account", "instance", "is_superuser", "can_grant", "is_locked", "updated_at")
    list_select_related = ("instance_account__instance",)
    list_filter = ("is_superuser", "can_grant", "is_locked")
    search_fields = ("^instance_account__username", "^instance_account__instance__name")
    fields = (
        "instance_account",
        "is_superuser",
        "can_grant",
        "is_locked",
        "roles",
        "updated_at",
        "facts_json",
        "snapshot_json",
    )
    readonly_fields = fields
    ordering = ("-updated_at",)
    show_facets = admin.ShowFacets.NEVER

    @admin.display(description="Instance", ordering="instance_account__instance__name")
    def instance(self, obj: AccountPermission):
        return obj.instance_account.instance

    @admin.display(description="Facts (engine-neutral)")
    def facts_json(self, obj: AccountPermission) -> str:
        return pretty_json(obj.facts)

    @admin.display(description="Snapshot (engine-native)")
    def snapshot_json(self, obj: AccountPermission) -> str:
        return pretty_json(obj.snapshot)


@admin.register(AccountChangeLog)
class AccountChangeLogAdmin(BigTableAdmin):
    """Append-only log of account changes (adds, modifications, removals, reactivations)."""

    list_display = ("changed_at", "instance", "username", "host", "change_type", "session_ref")
    list_select_related = ("instance",)
    list_filter = (
        recent_date_filter("changed_at", default="all", title="changed"),
        InstanceIdFilter,
        "instance__db_type",
        "change_type",
    )
    search_fields = ("^username", "=instance__name")
    autocomplete_fields = ("instance",)
    fields = (
        "changed_at",
        "instance",
        "instance_account",
        "username",
        "host",
        "change_type",
        "session_ref",
        "diff_json",
    )
    readonly_fields = fields
    ordering = ("-changed_at",)

    @admin.display(description="Session")
    def session_ref(self, obj: AccountChangeLog) -> str:
        return session_link(obj.session_id)

    @admin.display(description="Diff")
    def diff_json(self, obj: AccountChangeLog) -> str:
        return pretty_json(obj.diff)


@admin.register(AccountListing)
class AccountListingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The last applied account listing per instance (see docs/architecture.md § Account sync)."""

    list_display = ("instance", "account_count", "changed_at")
    list_select_related = ("instance",)
    search_fields = ("instance__name",)
    ordering = ("instance__name",)
    fields = ("instance", "account_count", "fingerprint", "changed_at")


def account_admin_extend(*, list_filters: tuple = (), inlines: tuple = ()) -> None:
    """Add list filters and inlines (after the permissions inline) to the account admin;
    apps above this one call it from their ``admin.py``."""
    admin_class = InstanceAccountAdmin
    admin_class.list_filter = (*admin_class.list_filter, *(f for f in list_filters if f not in admin_class.list_filter))
    new_inlines = tuple(i for i in inlines if i not in admin_class.inlines)
    admin_class.inlines = (admin_class.inlines[0], *new_inlines, *admin_class.inlines[1:])


sync_accounts_action = batch_admin_action(
    name="sync_accounts_action", description="Sync accounts", label="Account sync", start=accounts_sync_all
)
instance_admin_action_register(sync_accounts_action)
instance_admin_link_register(
    "Accounts", lambda instance: reverse("admin:accounts_instanceaccount_changelist") + f"?instance={instance.pk}"
)
instance_admin_link_register(
    "Account changes",
    lambda instance: reverse("admin:accounts_accountchangelog_changelist") + f"?instance={instance.pk}",
)
