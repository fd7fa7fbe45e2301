"""Admin for accounts, their permissions and the account change log (all written by syncs: read-only),
and the "Who can…" page (``accounts/admin/who_can.py``)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ObjectDoesNotExist
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from accounts.admin.display import PERMISSION_FIELDSETS, PermissionDisplayMixin, diff_html
from accounts.admin.who_can import PrivilegeOnFilter, who_can_page
from accounts.diff import diff_summary
from accounts.models import (
    AccountChangeLog,
    AccountListing,
    AccountPermission,
    AccountUnreadScope,
    ChangeType,
    InstanceAccount,
)
from accounts.selectors import (
    ACCOUNT_CHANGE_CSV_COLUMNS,
    ACCOUNT_CSV_COLUMNS,
    account_baseline_presence,
    account_changes_list,
    account_list_steps_apply,
    instance_account_counts,
)
from accounts.services import accounts_sync_all
from instances.admin import (
    instance_admin_action_register,
    instance_admin_button_register,
    instance_admin_link_register,
    instance_admin_section_register,
    instance_admin_summary_register,
)
from instances.models import Instance
from sync_sessions.admin import SessionFilter, batch_admin_action, session_admin_link_register
from whalefall.admin_tools import (
    ActionForm,
    BigTableAdmin,
    CsvExportMixin,
    ModelAdmin,
    ReadOnlyAdminMixin,
    ReadOnlyInlineMixin,
    StackedInline,
    TabularInline,
    badge,
    limited_formset,
    prose,
    recent_date_filter,
)
from whalefall.scoping import visible_instances
from whalefall.units import datetime_html

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
        # a team scope's user never reads the name of an instance outside the scope here
        shown = visible_instances(request.user)
        instances = Instance.objects.all() if shown is None else shown
        name = instances.filter(pk=value).values_list("name", flat=True).first() if value.isdigit() else None
        return ((value, name or f"{value} (unknown instance)"),)

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(instance_id=value) if value.isdigit() else queryset.none()


class AccountPermissionInline(PermissionDisplayMixin, ReadOnlyInlineMixin, StackedInline):
    """Current permissions of the account (one row)."""

    model = AccountPermission
    fieldsets = PERMISSION_FIELDSETS
    readonly_fields = tuple(f for _, options in PERMISSION_FIELDSETS for f in options["fields"])
    verbose_name_plural = "Permissions"


class AccountChangeInline(ReadOnlyInlineMixin, TabularInline):
    """The newest changes of the account (the full log is in "Account change log")."""

    model = AccountChangeLog
    fk_name = "instance_account"
    formset = limited_formset(CHANGE_HISTORY_LIMIT)
    fields = ("changed_at", "change_type", "diff_display", "session_ref")
    readonly_fields = fields
    ordering = ("-changed_at",)
    verbose_name_plural = f"Change history (newest {CHANGE_HISTORY_LIMIT})"

    @admin.display(description="Change")
    def diff_display(self, obj: AccountChangeLog) -> str:
        return diff_html(obj.diff)

    @admin.display(description="Session")
    def session_ref(self, obj: AccountChangeLog) -> str:
        return session_link(obj.session_id)


@admin.register(InstanceAccount)
class InstanceAccountAdmin(CsvExportMixin, ReadOnlyAdminMixin, ModelAdmin):
    """Logins found on instances, with permissions and change history (apps above add
    theirs with ``account_admin_extend``: classifications)."""

    scope_instance_path = "instance"

    # flags as one column of labels; each has its own filter, and the account page says why
    list_display = ("account", "instance", "flags", "last_seen_at")
    list_select_related = ("instance", "permission")
    list_filter = (
        InstanceIdFilter,
        PrivilegeOnFilter,
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
        "baseline",
        "all_changes",
    )
    fieldsets = (
        (None, {"fields": ("instance", "username", "host", "is_active")}),
        ("Seen", {"fields": ("first_seen_at", "baseline", "last_seen_at", "deactivated_at", "all_changes")}),
    )
    ordering = ("instance__name", "username", "host")
    inlines = (AccountPermissionInline, AccountChangeInline)
    show_facets = admin.ShowFacets.NEVER
    actions = ("export_csv",)  # apps above add theirs (account_admin_extend)
    csv_columns = ACCOUNT_CSV_COLUMNS
    change_list_template = "admin/accounts/instanceaccount/change_list.html"  # + a "Who can…" link

    def get_urls(self):
        page = self.admin_site.admin_view(lambda request: who_can_page(self, request))
        return [path("who-can/", page, name="accounts_who_can"), *super().get_urls()]

    def get_queryset(self, request):
        # what the registered account-list steps add (classification: the assignments, prefetched)
        return account_list_steps_apply(super().get_queryset(request))

    @admin.display(description="Account", ordering="username")
    def account(self, obj: InstanceAccount) -> str:
        return str(obj)

    @admin.display(description="Flags")
    def flags(self, obj: InstanceAccount) -> str:
        """superuser, can grant, locked, removed (not found by the last sync)."""
        permission = _permission(obj)
        labels = [
            badge(text, tone)
            for text, tone, shown in (
                ("superuser", "bad", permission is not None and permission.is_superuser),
                ("can grant", "warn", permission is not None and permission.can_grant),
                ("locked", "quiet", permission is not None and permission.is_locked),
                ("removed", "quiet", not obj.is_active),
            )
            if shown
        ]
        return format_html_join(" ", "{}", ((label,) for label in labels)) or "-"

    @admin.display(description="Baseline")
    def baseline(self, obj: InstanceAccount) -> str:
        """For an account the instance's first sync found: "present at baseline (<date>)" (it has
        no "added" row: nothing was added, WhaleFall looked for the first time)."""
        baseline = account_baseline_presence(account=obj)
        if baseline is None:
            return "-"
        url = reverse("admin:accounts_accountchangelog_change", args=[baseline.pk])
        return format_html('present at <a href="{}">baseline</a> ({})', url, datetime_html(baseline.changed_at))

    @admin.display(description="Change log")
    def all_changes(self, obj: InstanceAccount) -> str:
        url = reverse("admin:accounts_accountchangelog_changelist") + f"?instance_account__id__exact={obj.pk}"
        return format_html('<a href="{}">All changes of this account</a>', url)


@admin.register(AccountPermission)
class AccountPermissionAdmin(PermissionDisplayMixin, ReadOnlyAdminMixin, ModelAdmin):
    """Current permissions, one row per account."""

    scope_instance_path = "instance_account__instance"

    list_display = ("instance_account", "instance", "is_superuser", "can_grant", "is_locked", "updated_at")
    list_select_related = ("instance_account__instance",)
    list_filter = ("is_superuser", "can_grant", "is_locked")
    search_fields = ("^instance_account__username", "^instance_account__instance__name")
    fieldsets = ((None, {"fields": ("instance_account",)}), *PERMISSION_FIELDSETS)
    readonly_fields = tuple(f for _, options in fieldsets for f in options["fields"])
    ordering = ("-updated_at",)
    show_facets = admin.ShowFacets.NEVER

    @admin.display(description="Instance", ordering="instance_account__instance__name")
    def instance(self, obj: AccountPermission):
        return obj.instance_account.instance


def _change_account_label(change: AccountChangeLog) -> str:
    """user@host of a change; a baseline (no account) says what it covers."""
    if change.change_type == ChangeType.BASELINE:
        return "(every account: the instance's first sync)"
    return f"{change.username}@{change.host}" if change.host else change.username


@admin.register(AccountChangeLog)
class AccountChangeLogAdmin(CsvExportMixin, BigTableAdmin):
    """Append-only log of account changes (each instance's baseline, adds, modifications, removals,
    reactivations)."""

    scope_instance_path = "instance"

    actions = ("export_csv",)
    csv_columns = ACCOUNT_CHANGE_CSV_COLUMNS

    list_display = ("changed_at", "instance", "account", "change_type", "summary")
    list_select_related = ("instance",)
    list_filter = (
        recent_date_filter("changed_at", default="all", title="changed"),
        InstanceIdFilter,
        SessionFilter,
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
        "diff_display",
    )
    readonly_fields = fields
    ordering = ("-changed_at",)

    @admin.display(description="Account", ordering="username")
    def account(self, obj: AccountChangeLog) -> str:
        return _change_account_label(obj)

    @admin.display(description="What changed")
    def summary(self, obj: AccountChangeLog) -> str:
        return prose(diff_summary(obj.diff), limit=140)

    @admin.display(description="Session")
    def session_ref(self, obj: AccountChangeLog) -> str:
        return session_link(obj.session_id)

    @admin.display(description="Change")
    def diff_display(self, obj: AccountChangeLog) -> str:
        return diff_html(obj.diff)


@admin.register(AccountListing)
class AccountListingAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """The last applied account listing per instance (see docs/architecture.md § Account sync)."""

    scope_instance_path = "instance"

    list_display = ("instance", "account_count", "changed_at")
    list_select_related = ("instance",)
    search_fields = ("instance__name",)
    ordering = ("instance__name",)
    fields = ("instance", "account_count", "fingerprint", "changed_at")


@admin.register(AccountUnreadScope)
class AccountUnreadScopeAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """What the last account sync of each instance could not read (docs/adapters.md § Partial
    reads): the stored entries inside are kept and marked on the account pages."""

    scope_instance_path = "instance"
    list_display = ("instance", "name", "reason", "not_read_since", "last_unread_at")
    list_select_related = ("instance",)
    list_filter = ("level",)
    search_fields = ("instance__name", "name", "target")
    ordering = ("instance__name", "name")
    fields = ("instance", "name", "level", "target", "reason", "covers", "covers_privileges", "role_prefix",
              "snapshot_path", "not_read_since", "last_unread_at")  # fmt: skip


def _extended(existing: tuple, new: tuple) -> tuple:
    return (*existing, *(item for item in new if item not in existing))


def account_admin_extend(
    *,
    list_filters: tuple = (),
    inlines: tuple = (),
    list_display: tuple = (),
    actions: tuple = (),
    action_form_fields: dict | None = None,
    permission_checks: dict | None = None,
) -> None:
    """Add list filters, inlines (after the permissions inline), columns (callables taking the
    account), actions and fields of the action bar to the account admin; apps above this one
    call it from their ``admin.py``. ``permission_checks`` ({name: fn(modeladmin, request)})
    back their actions' ``permissions=[name]``."""
    admin_class = InstanceAccountAdmin
    for name, check in (permission_checks or {}).items():
        setattr(admin_class, f"has_{name}_permission", check)
    admin_class.list_filter = _extended(admin_class.list_filter, list_filters)
    new_inlines = tuple(i for i in inlines if i not in admin_class.inlines)
    admin_class.inlines = (admin_class.inlines[0], *new_inlines, *admin_class.inlines[1:])
    admin_class.list_display = _extended(admin_class.list_display, list_display)
    admin_class.actions = _extended(admin_class.actions, actions)
    if action_form_fields:
        fields = {**getattr(admin_class.action_form, "extra_fields", {}), **action_form_fields}
        admin_class.action_form = type("AccountActionForm", (ActionForm,), {**fields, "extra_fields": fields})


sync_accounts_action = batch_admin_action(
    name="sync_accounts_action", description="Sync accounts", label="Account sync", start=accounts_sync_all
)
instance_admin_action_register(sync_accounts_action)
instance_admin_link_register(
    "Accounts", lambda instance: reverse("admin:accounts_instanceaccount_changelist") + f"?instance={instance.pk}"
)


def _accounts_overview(instance: Instance) -> str:
    counts = instance_account_counts(instance_id=instance.pk)
    accounts = reverse("admin:accounts_instanceaccount_changelist") + f"?instance={instance.pk}"
    changes = reverse("admin:accounts_accountchangelog_changelist") + f"?instance={instance.pk}"
    return format_html(
        '<a href="{}">{} active</a>, {} inactive · <a href="{}">{} change(s)</a> in the last {} days',
        accounts, counts.active, counts.inactive, changes, counts.changes_recent, counts.days,
    )  # fmt: skip


#: rows of the instance page's "Recent account changes" card (the change log has them all)
RECENT_CHANGES = 10


def _recent_changes(instance: Instance) -> str:
    changes = list(account_changes_list(instance_id=instance.pk).select_related(None)[:RECENT_CHANGES])
    url = reverse("admin:accounts_accountchangelog_changelist") + f"?instance={instance.pk}"
    if not changes:
        return format_html('<p class="wf-quiet">No account change recorded. <a href="{}">Change log</a></p>', url)
    rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
        (datetime_html(c.changed_at),
         format_html('<a href="{}">{}</a>', reverse("admin:accounts_accountchangelog_change", args=[c.pk]),
                     _change_account_label(c)),
         c.get_change_type_display(), prose(diff_summary(c.diff), limit=200))
        for c in changes
    ))  # fmt: skip
    return format_html(
        '<table class="wf-table"><thead><tr><th>When</th><th>Account</th><th>Change</th><th>What changed</th></tr>'
        '</thead><tbody>{}</tbody></table><p class="wf-links"><a class="wf-link" href="{}">All changes of this '
        "instance</a></p>",
        rows, url,
    )  # fmt: skip


instance_admin_summary_register("Accounts", _accounts_overview)
instance_admin_button_register("sync_accounts_action", "Sync accounts", hint="queued: a session reads its accounts")
instance_admin_section_register("Recent account changes", _recent_changes, order=30)
instance_admin_link_register(
    "Account changes",
    lambda instance: reverse("admin:accounts_accountchangelog_changelist") + f"?instance={instance.pk}",
)
session_admin_link_register(
    "Account changes",
    lambda session: reverse("admin:accounts_accountchangelog_changelist") + f"?session={session.session_id}",
)
