"""The instance admin: its list, its form, its actions and the instance page (``page.py``)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from unfold.widgets import (
    UnfoldAdminSelect2MultipleWidget,
    UnfoldAdminTextInputWidget,
)

from instances.admin.page import instance_admin_button_register, instance_page_context, instance_state
from instances.models import SYNC_INSTANCE_PERMISSION, Instance, Tag
from instances.scopes import credentials_within
from instances.selectors import INSTANCE_CSV_COLUMNS
from instances.services import (
    instance_create,
    instance_update,
    instances_deactivate,
    instances_delete,
    instances_purge,
    instances_restore,
    instances_resume,
    instances_tag,
)
from whalefall.admin_tools import (
    ActionForm,
    CsvExportMixin,
    ModelAdmin,
    SizeField,
    action_confirmation,
    action_confirmed,
    adopt_saved,
    is_set_filter,
    typed_names_match,
)
from whalefall.scoping import require_instance_in_scope, visible_instances
from whalefall.units import SIZE_INPUT_HELP


class InstanceAdminForm(forms.ModelForm):
    """Instance form; tags (an M2M through ``InstanceTag``) are handed to the services by name."""

    size_limit_bytes = SizeField(
        required=False,
        label="Size limit",
        help_text=f"What the instance may hold (disk or quota), {SIZE_INPUT_HELP}; size forecasts count the days "
        "until it is reached. Empty: no limit.",
    )
    tag_choices = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.all(),
        required=False,
        label="Tags",
        widget=UnfoldAdminSelect2MultipleWidget,
    )

    class Meta:
        model = Instance
        fields = (
            "name",
            "db_type",
            "environment",
            "is_active",
            "description",
            "host",
            "port",
            "database_name",
            "credential",
            "connect_timeout",
            "statement_timeout",
            "size_limit_bytes",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        labels = {"is_active": ("Active", "Inactive: no run contacts it (its history is kept)."),
                  "db_type": ("Engine", "")}  # fmt: skip
        for name, (label, help_text) in labels.items():
            if name in self.fields:  # a viewer's form has none: every field is read-only
                self.fields[name].label, self.fields[name].help_text = label, help_text or self.fields[name].help_text
        if self.instance.pk is not None:
            self.fields["tag_choices"].initial = list(self.instance.tags.all())
        elif "environment" in self.fields:
            # no environment is assumed: production by mistake would set off production-only rules and
            # alerts, development by mistake would hide them; whoever adds an instance says which
            environment = self.fields["environment"]
            environment.choices = [("", "Choose the environment"), *Instance.Environment.choices]
            environment.initial = ""
            environment.help_text = "Classification rules can depend on it (environment_in)."


class InstanceActionForm(ActionForm):
    """The action bar of the instance list, with the tag name "Add the tag" uses."""

    tag = forms.CharField(required=False, max_length=64, label="Tag", widget=UnfoldAdminTextInputWidget)


@admin.register(Instance)
class InstanceAdmin(CsvExportMixin, ModelAdmin):
    """Monitored database servers; saves go through ``instance_create``/``instance_update``."""

    scope_instance_path = "pk"

    form = InstanceAdminForm
    # what a DBA scans for; credential, version, timeouts and limits are on the instance page
    list_display = ("name", "engine", "address", "environment", "tag_list", "state", "last_contact")
    list_select_related = ("db_type", "credential")
    list_filter = (
        "db_type", "environment", "is_active", "tags", is_set_filter("suspended_at", "suspended"),
        is_set_filter("deleted_at", "deleted", default="no"),  # deleted instances are listed on request
    )  # fmt: skip
    search_fields = ("name", "host")
    autocomplete_fields = ("credential",)
    readonly_fields = ("version", "last_connected_at", "consecutive_failures", "suspended_at", "created_at",
                       "updated_at", "deleted_at")  # fmt: skip
    ordering = ("name",)
    # the page leads with its state, problems, buttons and what the apps above add (page.py),
    # rendered above the form; the form edits the settings
    change_form_outer_before_template = "admin/instances/instance/lead.html"
    fieldsets = (
        (None, {"fields": ("name", "db_type", "environment", "is_active", "tag_choices", "description")}),
        ("Connection", {"fields": ("host", "port", "database_name", "credential")}),
        ("Timeouts", {"fields": ("connect_timeout", "statement_timeout"), "classes": ("collapse",)}),
        ("Limits", {"fields": ("size_limit_bytes",)}),
        ("Record", {"fields": ("version", "last_connected_at", "consecutive_failures", "suspended_at", "created_at",
                               "updated_at", "deleted_at"), "classes": ("collapse",)}),
    )  # fmt: skip
    # Actions need the custom permission instances.sync_instance (operator/admin groups, superusers);
    # each calls one service and reports with message_user. Those that contact instances need the
    # batch runner above this app, which adds them with ``instance_admin_action_register`` (test
    # connection, check privileges: sync_sessions; sync accounts, collect capacity, …).
    actions = ("resume_action", "add_tag_action", "deactivate_action", "restore_action", "export_csv",
               "purge_action")
    # delete = soft delete (instances_delete): the instance, not its history, so nothing else is listed
    delete_confirmation_template = "admin/instances/instance/delete_confirmation.html"
    delete_selected_confirmation_template = "admin/instances/instance/delete_confirmation.html"
    action_form = InstanceActionForm
    csv_columns = INSTANCE_CSV_COLUMNS

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        return fieldsets if obj is not None else [f for f in fieldsets if f[0] != "Record"]  # nothing recorded yet

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related(*self.list_select_related)  # the changelist skips its own when one is set
            .defer("credential__password_encrypted")
            .prefetch_related("tags")
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        visible = visible_instances(request.user)
        if db_field.name == "credential" and visible is not None:  # never another team's login
            kwargs["queryset"] = credentials_within(visible)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        fields = dict(form.cleaned_data)
        tags = [tag.name for tag in fields.pop("tag_choices", None) or ()]
        # the admin saves in a transaction: an instance outside the user's team scope (created so, or
        # moved out by its environment or tags) is refused, 403, and nothing is written
        if change:
            instance_update(instance=obj, tags=tags, **fields)
        else:
            adopt_saved(obj, instance_create(tags=tags, **fields))
        require_instance_in_scope(request.user, obj.pk, acting=True)

    @admin.display(description="Tags")
    def tag_list(self, obj: Instance) -> str:
        return ", ".join(tag.name for tag in obj.tags.all()) or "-"

    @admin.display(description="Engine", ordering="db_type__display_name")
    def engine(self, obj: Instance) -> str:
        return obj.db_type.display_name

    @admin.display(description="Address", ordering="host")
    def address(self, obj: Instance) -> str:
        return f"{obj.host}:{obj.port}"

    @admin.display(description="Last contact", ordering="last_connected_at")
    def last_contact(self, obj: Instance):
        return obj.last_connected_at

    @admin.display(description="State")
    def state(self, obj: Instance) -> str:
        return instance_state(obj)

    # --- the instance page -------------------------------------------------------------------

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["lead"] = instance_page_context(self, request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self):
        run = self.admin_site.admin_view(self.run_view)
        return [path("<path:object_id>/run/<str:action>/", run, name="instances_instance_run"), *super().get_urls()]

    def run_view(self, request, object_id: str, action: str):
        """POST from a button of the instance page: the admin action ``action`` on this one instance
        (its own permission check, its messages), then back to the page. A test or a privilege
        check runs here, within the instance's deadlines; a sync, collection or classification is
        queued and its message links to the session."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        actions = self.get_actions(request)  # only those the user may run
        if action not in actions:
            raise PermissionDenied
        func, _name, _description = actions[action]
        response = func(self, request, Instance.objects.filter(pk=obj.pk))
        return response or HttpResponseRedirect(reverse("admin:instances_instance_change", args=[obj.pk]))

    def has_sync_permission(self, request) -> bool:
        return request.user.has_perm(SYNC_INSTANCE_PERMISSION)

    @admin.action(description="Add the tag typed beside the action", permissions=["change"])
    def add_tag_action(self, request, queryset):
        try:
            added = instances_tag(instance_ids=list(queryset.values_list("pk", flat=True)),
                                  tag=request.POST.get("tag", ""))  # fmt: skip
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
        else:
            self.message_user(request, f"Tag added to {added} instance(s).", messages.SUCCESS)

    @admin.action(description="Deactivate (no run contacts them; history kept)", permissions=["change"])
    def deactivate_action(self, request, queryset):
        if not action_confirmed(request):
            return action_confirmation(
                self, request, queryset, action="deactivate_action", title="Deactivate instances",
                question="No run (scheduled or started here) will contact these instances until they are made active "
                "again; their accounts, sizes and runs are kept.",
                button=f"Deactivate {queryset.count()} instance(s)", post_url=_list_with_deleted(),
            )  # fmt: skip
        count = instances_deactivate(instance_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} instance(s) deactivated.", messages.SUCCESS)

    # --- delete: soft, restorable; purge: for good, admins only, with typed names -------------

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.deleted_at is not None:
            return False  # deleted already: "Restore" or "Purge"
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        instances_delete(instance_ids=[obj.pk])

    def delete_queryset(self, request, queryset):
        instances_delete(instance_ids=list(queryset.values_list("pk", flat=True)))

    def get_deleted_objects(self, objs, request):
        """What "delete" touches: the instances themselves (their history stays), so the page
        lists no related rows and never refuses for lack of permission on them."""
        objs = list(objs)
        return [str(obj) for obj in objs], {Instance._meta.verbose_name_plural: len(objs)}, set(), []

    def response_delete(self, request, obj_display, obj_id):
        self.message_user(request, f"{obj_display} deleted: no run contacts it, its history is kept; "
                          "“Restore” brings it back (list filter Deleted: yes).", messages.SUCCESS)  # fmt: skip
        return HttpResponseRedirect(reverse("admin:instances_instance_changelist"))

    @admin.action(description="Restore (undo delete: active again, history as it was)", permissions=["delete"])
    def restore_action(self, request, queryset):
        restored = instances_restore(instance_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{restored} deleted instance(s) restored.", messages.SUCCESS)

    def has_purge_permission(self, request) -> bool:
        """Purging removes history for good: who may delete instances (the admin role, superusers)."""
        return request.user.has_perm("instances.delete_instance")

    @admin.action(description="Purge: delete for good with all their history (admins)", permissions=["purge"])
    def purge_action(self, request, queryset):
        objects = list(queryset.order_by("name"))
        confirmed = action_confirmed(request)
        if not confirmed or not typed_names_match(request, objects):
            return action_confirmation(
                self, request, objects, action="purge_action", title="Purge instances", danger=True, typed_names=True,
                question="This deletes these instances and everything recorded about them: accounts and their change "
                "log, capacity history and roll-ups, table sizes, classifications, runs and alerts. It cannot be "
                "undone (“Delete” keeps the history and can be restored).",
                button=f"Purge {len(objects)} instance(s)", post_url=_list_with_deleted(),
                error="The names typed do not match the instances selected." if confirmed else "",
            )  # fmt: skip
        purged = instances_purge(instance_ids=[obj.pk for obj in objects])
        self.message_user(request, f"{purged} instance(s) purged with their history.", messages.SUCCESS)

    @admin.action(description="Resume scheduled runs (lift the circuit breaker)", permissions=["sync"])
    def resume_action(self, request, queryset):
        resumed = instances_resume(instance_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{resumed} suspended instance(s) resumed.", messages.SUCCESS)


def _list_with_deleted() -> str:
    """The instance list with deleted instances too: where confirmation pages post back."""
    return reverse("admin:instances_instance_changelist") + "?deleted=all"


def instance_admin_action_register(action) -> None:
    """Add an admin action (a function decorated with ``@admin.action``) to the
    instance changelist. Apps above this one call it from their ``admin.py``,
    which the admin imports after this one (INSTALLED_APPS order)."""
    if action not in InstanceAdmin.actions:
        InstanceAdmin.actions = (*InstanceAdmin.actions, action)


instance_admin_button_register("test_connection_action", "Test connection", hint="now, within its connect timeout",
                               primary=True)  # fmt: skip
instance_admin_button_register("check_privileges_action", "Check privileges", hint="now: what the monitoring login "
                               "may read, and the GRANT for what it may not")  # fmt: skip
