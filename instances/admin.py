"""Admin for database types, credentials, tags and instances."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html

from instances.models import Credential, DatabaseType, Instance, Tag
from instances.services import credential_create, credential_update, instance_create, instance_update
from whalefall.admin_tools import count_subquery


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
            "deleted_at",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["tag_choices"].initial = list(self.instance.tags.all())


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
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
    )
    list_select_related = ("db_type", "credential")
    list_filter = ("db_type", "environment", "is_active", "tags", ("deleted_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "host")
    autocomplete_fields = ("credential",)
    readonly_fields = ("version", "last_connected_at", "created_at", "updated_at")
    ordering = ("name",)
    fieldsets = (
        (None, {"fields": ("name", "db_type", "environment", "is_active", "tag_choices", "description")}),
        ("Connection", {"fields": ("host", "port", "database_name", "credential")}),
        ("Timeouts", {"fields": ("connect_timeout", "statement_timeout"), "classes": ("collapse",)}),
        ("Status", {"fields": ("version", "last_connected_at", "created_at", "updated_at", "deleted_at")}),
    )
    # Actions (test connection, sync accounts, collect capacity) go here: each an
    # @admin.action(permissions=[...]) calling one service, listed in `actions`.

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
