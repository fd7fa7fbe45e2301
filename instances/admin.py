"""Admin for database types, credentials, tags and instances."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from instances.models import SYNC_INSTANCE_PERMISSION, Credential, DatabaseType, Instance, Tag
from instances.selectors import INSTANCE_CSV_COLUMNS
from instances.services import (
    credential_create,
    credential_update,
    instance_create,
    instance_update,
    instances_deactivate,
    instances_resume,
    instances_tag,
)
from whalefall.admin_tools import CsvExportMixin, count_subquery


def _adopt(target, saved) -> None:
    """Make the admin's unsaved ``target`` the row a service just created as ``saved``."""
    for field in target._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False
    target._state.db = saved._state.db


@admin.register(DatabaseType)
class DatabaseTypeAdmin(admin.ModelAdmin):
    """Supported engines (seeded); only display name, default port and enabled are edited."""

    list_select_related = ()
    list_display = ("name", "display_name", "default_port", "enabled", "instance_count")
    list_filter = ("enabled",)
    search_fields = ("name", "display_name")
    ordering = ("name",)
    fieldsets = ((None, {"fields": ("name", "display_name", "default_port", "enabled")}),)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_instance_count=count_subquery(Instance, "db_type"))

    def get_readonly_fields(self, request, obj=None):
        return ("name",) if obj is not None else ()

    @admin.display(description="Instances", ordering="_instance_count")
    def instance_count(self, obj: DatabaseType) -> int:
        return obj._instance_count


class CredentialAdminForm(forms.ModelForm):
    """Credential form with a write-only password.

    The password is never rendered back (``render_value=False``); it is
    required when adding and optional when changing (empty keeps the stored
    one). The ciphertext is not a form field at all.
    """

    password = forms.CharField(
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        required=False,
        strip=False,
        help_text="Write-only. Leave empty to keep the stored password.",
    )

    class Meta:
        model = Credential
        fields = ("name", "username")


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    """Credentials; saves go through ``credential_create``/``credential_update``."""

    list_select_related = ()
    form = CredentialAdminForm
    list_display = ("name", "username", "instance_count", "updated_at")
    search_fields = ("name", "username")
    readonly_fields = ("instance_links", "created_at", "updated_at")
    ordering = ("name",)
    fieldsets = (
        (None, {"fields": ("name", "username", "password")}),
        ("Usage", {"fields": ("instance_links", "created_at", "updated_at")}),
    )
    add_fieldsets = ((None, {"fields": ("name", "username", "password")}),)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .defer("password_encrypted")
            .annotate(_instance_count=Count("instances", filter=Q(instances__deleted_at__isnull=True)))
        )

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else super().get_fieldsets(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.base_fields["password"].required = obj is None
        if obj is None:
            form.base_fields["password"].help_text = "Write-only: stored encrypted, never shown again."
        return form

    def save_model(self, request, obj, form, change):
        password = form.cleaned_data.get("password") or None
        if change:
            credential_update(credential=obj, name=obj.name, username=obj.username, password=password)
        else:
            created = credential_create(name=obj.name, username=obj.username, password=password)
            _adopt(obj, created)

    @admin.display(description="Instances", ordering="_instance_count")
    def instance_count(self, obj: Credential) -> int:
        return obj._instance_count

    @admin.display(description="Used by")
    def instance_links(self, obj: Credential) -> str:
        if obj.pk is None:
            return "-"
        url = reverse("admin:instances_instance_changelist") + f"?credential__id__exact={obj.pk}"
        return format_html('<a href="{}">{} instance(s)</a>', url, obj._instance_count)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    """Free-form instance tags."""

    list_select_related = ()
    list_display = ("name", "instance_count")
    search_fields = ("name",)
    ordering = ("name",)
    fieldsets = ((None, {"fields": ("name",)}),)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_instance_count=Count("instances"))

    @admin.display(description="Instances", ordering="_instance_count")
    def instance_count(self, obj: Tag) -> int:
        return obj._instance_count


class InstanceAdminForm(forms.ModelForm):
    """Instance form; tags (an M2M through ``InstanceTag``) are handed to the services by name."""

    tag_choices = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.all(),
        required=False,
        label="Tags",
        widget=FilteredSelectMultiple("tags", is_stacked=False),
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
            "deleted_at",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["tag_choices"].initial = list(self.instance.tags.all())


class InstanceActionForm(helpers.ActionForm):
    """The action bar of the instance list, with the tag name "Add the tag" uses."""

    tag = forms.CharField(required=False, max_length=64, label="Tag")


@admin.register(Instance)
class InstanceAdmin(CsvExportMixin, admin.ModelAdmin):
    """Monitored database servers; saves go through ``instance_create``/``instance_update``."""

    form = InstanceAdminForm
    list_display = (
        "name",
        "db_type",
        "host",
        "port",
        "environment",
        "is_active",
        "credential",
        "tag_list",
        "version",
        "last_connected_at",
        "suspended",
    )
    list_select_related = ("db_type", "credential")
    list_filter = (
        "db_type", "environment", "is_active", "tags", ("deleted_at", admin.EmptyFieldListFilter),
        ("suspended_at", admin.EmptyFieldListFilter),
    )  # fmt: skip
    search_fields = ("name", "host")
    autocomplete_fields = ("credential",)
    readonly_fields = ("overview", "version", "last_connected_at", "consecutive_failures", "suspended_at",
                       "created_at", "updated_at", "related_links")  # fmt: skip
    ordering = ("name",)
    fieldsets = (
        (None, {"fields": ("name", "db_type", "environment", "is_active", "tag_choices", "description")}),
        ("Connection", {"fields": ("host", "port", "database_name", "credential")}),
        ("Timeouts", {"fields": ("connect_timeout", "statement_timeout"), "classes": ("collapse",)}),
        ("Limits", {"fields": ("size_limit_bytes",)}),
        (
            "Status",
            {"fields": ("overview", "version", "last_connected_at", "consecutive_failures", "suspended_at",
                        "created_at", "updated_at", "deleted_at", "related_links")},
        ),
    )  # fmt: skip
    # Actions need the custom permission instances.sync_instance (operator/admin groups, superusers);
    # each calls one service and reports with message_user. Those that contact instances need the
    # batch runner above this app, which adds them with ``instance_admin_action_register`` (test
    # connection, check privileges: sync_sessions; sync accounts, collect capacity, …).
    actions = ("resume_action", "add_tag_action", "deactivate_action", "export_csv")
    action_form = InstanceActionForm
    csv_columns = INSTANCE_CSV_COLUMNS
    #: (label, url_for(instance)) links to other apps' pages of an instance (``instance_admin_link_register``)
    related_link_makers: tuple[tuple[str, Callable[[Instance], str]], ...] = ()
    #: (label, html_for(instance)) rows other apps add to the instance's overview (``instance_admin_summary_register``)
    summary_makers: tuple[tuple[str, Callable[[Instance], str]], ...] = ()

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related(*self.list_select_related)  # the changelist skips its own when one is set
            .defer("credential__password_encrypted")
            .prefetch_related("tags")
        )

    def save_model(self, request, obj, form, change):
        fields = dict(form.cleaned_data)
        tags = [tag.name for tag in fields.pop("tag_choices", None) or ()]
        if change:
            instance_update(instance=obj, tags=tags, **fields)
        else:
            _adopt(obj, instance_create(tags=tags, **fields))

    @admin.display(description="Tags")
    def tag_list(self, obj: Instance) -> str:
        return ", ".join(tag.name for tag in obj.tags.all())

    @admin.display(description="Overview")
    def overview(self, obj: Instance) -> str:
        if obj.pk is None or not self.summary_makers:
            return "-"
        rows = ((label, html_for(obj)) for label, html_for in self.summary_makers)
        body = format_html_join("", '<tr><th scope="row">{}</th><td>{}</td></tr>', rows)
        return format_html('<table class="wf-overview">{}</table>', body)

    @admin.display(description="Related")
    def related_links(self, obj: Instance) -> str:
        if obj.pk is None or not self.related_link_makers:
            return "-"
        links = [format_html('<a href="{}">{}</a>', url_for(obj), label) for label, url_for in self.related_link_makers]
        return format_html_join(" · ", "{}", ((link,) for link in links))

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
        count = instances_deactivate(instance_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} instance(s) deactivated.", messages.SUCCESS)

    @admin.action(description="Resume scheduled runs (lift the circuit breaker)", permissions=["sync"])
    def resume_action(self, request, queryset):
        resumed = instances_resume(instance_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{resumed} suspended instance(s) resumed.", messages.SUCCESS)

    @admin.display(description="Suspended", boolean=True, ordering="suspended_at")
    def suspended(self, obj: Instance) -> bool:
        return obj.suspended_at is not None


def instance_admin_action_register(action) -> None:
    """Add an admin action (a function decorated with ``@admin.action``) to the
    instance changelist. Apps above this one call it from their ``admin.py``,
    which the admin imports after this one (INSTALLED_APPS order)."""
    if action not in InstanceAdmin.actions:
        InstanceAdmin.actions = (*InstanceAdmin.actions, action)


def instance_admin_summary_register(label: str, html_for: Callable[[Instance], str]) -> None:
    """Add a row (``html_for(instance)``, safe HTML; a few queries at most) to the instance
    page's overview: accounts, capacity, last runs… from the apps that own them."""
    if all(existing != label for existing, _ in InstanceAdmin.summary_makers):
        InstanceAdmin.summary_makers = (*InstanceAdmin.summary_makers, (label, html_for))


def instance_admin_link_register(label: str, url_for: Callable[[Instance], str]) -> None:
    """Add a link (``url_for(instance)``) to the "Related" row of the instance page."""
    if all(existing != label for existing, _ in InstanceAdmin.related_link_makers):
        InstanceAdmin.related_link_makers = (*InstanceAdmin.related_link_makers, (label, url_for))
