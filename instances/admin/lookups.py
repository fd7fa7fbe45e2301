"""Admins of the engines, credentials and tags instances refer to, and of the team scopes."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html
from unfold.widgets import UnfoldAdminPasswordWidget

from instances.models import Credential, DatabaseType, Instance, Scope, Tag
from instances.scopes import credentials_within
from instances.services import credential_create, credential_update
from whalefall.admin_tools import ModelAdmin, adopt_saved, count_subquery
from whalefall.scoping import visible_instances


def _counted(request):
    """The instances the counts beside engines, credentials and tags count: the user's team scope's
    (README § Team scopes), or None for every instance."""
    return visible_instances(request.user)


def _mine(request) -> Q:
    """The filter of a ``Count("instances")`` for the user's team scope (empty: every instance)."""
    counted = _counted(request)
    return Q() if counted is None else Q(instances__in=counted.values("pk"))


@admin.register(DatabaseType)
class DatabaseTypeAdmin(ModelAdmin):
    """Supported engines (seeded); only display name, default port and enabled are edited."""

    list_select_related = ()
    list_display = ("name", "display_name", "default_port", "enabled", "instance_count")
    list_filter = ("enabled",)
    search_fields = ("name", "display_name")
    ordering = ("name",)
    fieldsets = ((None, {"fields": ("name", "display_name", "default_port", "enabled")}),)

    def get_queryset(self, request):
        counted = _counted(request)  # a team scope counts its own instances
        mine = {} if counted is None else {"pk__in": counted.values("pk")}
        return super().get_queryset(request).annotate(_instance_count=count_subquery(Instance, "db_type", **mine))

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
        widget=UnfoldAdminPasswordWidget(render_value=False, attrs={"autocomplete": "new-password"}),
        required=False,
        strip=False,
        help_text="Write-only. Leave empty to keep the stored password.",
    )

    class Meta:
        model = Credential
        fields = ("name", "username")


@admin.register(Credential)
class CredentialAdmin(ModelAdmin):
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
        queryset = (
            super()
            .get_queryset(request)
            .defer("password_encrypted")
            .annotate(_instance_count=Count("instances", filter=Q(instances__deleted_at__isnull=True) & _mine(request)))
        )
        visible = _counted(request)
        return queryset if visible is None else queryset.filter(pk__in=credentials_within(visible).values("pk"))

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
            adopt_saved(obj, created)

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
class TagAdmin(ModelAdmin):
    """Free-form instance tags."""

    list_select_related = ()
    list_display = ("name", "instance_count")
    search_fields = ("name",)
    ordering = ("name",)
    fieldsets = ((None, {"fields": ("name",)}),)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_instance_count=Count("instances", filter=_mine(request)))

    @admin.display(description="Instances", ordering="_instance_count")
    def instance_count(self, obj: Tag) -> int:
        return obj._instance_count

    def get_deleted_objects(self, objs, request):
        """A tag a team scope selects by is protected: deleting it would silently widen "tag X in
        production" to all of production (a scope without tags selects by environment alone)."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        using = Scope.objects.filter(tags__in=objs).distinct().order_by("name")
        protected = [*protected, *(f"Team scope: {scope.name} (remove the tag from it first)" for scope in using)]
        return deleted, counts, perms_needed, protected


class ScopeForm(forms.ModelForm):
    environments = forms.TypedMultipleChoiceField(
        choices=Instance.Environment.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Instances in any of these environments; none: any environment.",
    )

    class Meta:
        model = Scope
        fields = ("name", "description", "environments", "tags", "users", "groups")

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("environments") and not cleaned.get("tags"):
            raise forms.ValidationError(
                "Choose environments, tags or both: a scope with neither selects no instance.", code="empty"
            )
        return cleaned


@admin.register(Scope)
class ScopeAdmin(ModelAdmin):
    """Team scopes (README § Team scopes): the instances their users and groups see."""

    form = ScopeForm
    list_select_related = ()  # the tags, users and groups are prefetched
    list_display = ("name", "selects", "members")
    search_fields = ("name",)
    filter_horizontal = ("tags", "users", "groups")
    ordering = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags", "users", "groups")

    # only the global view edits scopes: a scoped admin could otherwise widen its own, or leave
    # every scope and so see every instance
    def has_add_permission(self, request):
        return super().has_add_permission(request) and visible_instances(request.user) is None

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and visible_instances(request.user) is None

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and visible_instances(request.user) is None

    @admin.display(description="Instances")
    def selects(self, obj: Scope) -> str:
        parts = []
        if obj.environments:
            parts.append("environment " + " or ".join(obj.environments))
        if tags := [tag.name for tag in obj.tags.all()]:
            parts.append("tag " + " or ".join(tags))
        return " and ".join(parts) or "none"

    @admin.display(description="Members")
    def members(self, obj: Scope) -> str:
        names = [user.get_username() for user in obj.users.all()] + [f"group {g.name}" for g in obj.groups.all()]
        return ", ".join(names) or "-"
