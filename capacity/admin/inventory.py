"""Admins of the database inventory (its byte limits are editable) and of the latest sizes,
which also hosts the capacity pages (instance, database, top growers)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.urls import path, reverse
from django.utils.html import format_html

from capacity.admin import pages
from capacity.admin.base import SizeColumnsMixin
from capacity.models import DatabaseSizeCurrent, InstanceDatabase
from capacity.services import instance_database_limit_set
from whalefall.admin_tools import ModelAdmin, ReadOnlyAdminMixin, SizeField, format_bytes
from whalefall.units import SIZE_INPUT_HELP


class InstanceDatabaseForm(forms.ModelForm):
    size_limit_bytes = SizeField(
        required=False,
        label="Size limit",
        help_text=f"What this database may hold, {SIZE_INPUT_HELP}; its forecast counts the days until it is "
        "reached. Empty: no limit.",
    )

    class Meta:
        model = InstanceDatabase
        fields = ("size_limit_bytes",)


@admin.register(InstanceDatabase)
class InstanceDatabaseAdmin(ModelAdmin):
    """Database inventory per instance; a vanished database turns inactive. Only the byte
    limit (what the forecast counts the days to) is edited here; the collection writes the rest."""

    scope_instance_path = "instance"

    list_display = ("name", "instance", "is_active", "size_limit", "last_seen_at", "deleted_at")
    list_select_related = ("instance",)
    list_filter = ("is_active",)
    search_fields = ("^name", "^instance__name")
    autocomplete_fields = ("instance",)
    form = InstanceDatabaseForm
    fields = ("instance", "name", "is_active", "size_limit_bytes", "first_seen_at", "last_seen_at", "deleted_at")
    readonly_fields = ("instance", "name", "is_active", "first_seen_at", "last_seen_at", "deleted_at")
    ordering = ("instance__name", "name")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Size limit", ordering="size_limit_bytes")
    def size_limit(self, obj: InstanceDatabase) -> str:
        return format_bytes(obj.size_limit_bytes)

    def save_model(self, request, obj, form, change):
        instance_database_limit_set(database=obj, size_limit_bytes=form.cleaned_data["size_limit_bytes"])


@admin.register(DatabaseSizeCurrent)
class DatabaseSizeCurrentAdmin(SizeColumnsMixin, ReadOnlyAdminMixin, ModelAdmin):
    """Latest size of every database (one row per database); links to the capacity pages."""

    scope_instance_path = "instance"

    list_display = (
        "database_capacity", "instance_capacity", "size", "data_size", "log_size", "complete", "collected_at"
    )  # fmt: skip
    list_select_related = ("instance",)
    search_fields = ("^database_name", "^instance__name")
    autocomplete_fields = ("instance",)
    fields = ("instance", "database_name", "size_bytes", "data_bytes", "log_bytes", "complete", "collected_at")
    readonly_fields = fields
    ordering = ("instance__name", "database_name")
    show_facets = admin.ShowFacets.NEVER
    change_list_template = "admin/capacity/databasesizecurrent/change_list.html"

    @admin.display(description="Database", ordering="database_name")
    def database_capacity(self, obj: DatabaseSizeCurrent) -> str:
        return format_html('<a href="{}">{}</a>', pages.database_page_url(obj.instance_id, obj.database_name),
                           obj.database_name)  # fmt: skip

    @admin.display(description="Instance", ordering="instance__name")
    def instance_capacity(self, obj: DatabaseSizeCurrent) -> str:
        url = reverse("admin:capacity_instance_capacity", args=[obj.instance_id])
        return format_html('<a href="{}">{}</a>', url, obj.instance)

    def get_urls(self):
        def view(page, name: str, route: str):
            return path(route, self.admin_site.admin_view(lambda request, **kw: page(self, request, **kw)), name=name)

        return [
            view(pages.instance_capacity_page, "capacity_instance_capacity", "instance/<int:instance_id>/"),
            view(pages.instance_collect, "capacity_instance_collect", "instance/<int:instance_id>/collect/"),
            view(pages.instance_aggregate, "capacity_instance_aggregate", "instance/<int:instance_id>/aggregate/"),
            view(
                pages.database_capacity_page,
                "capacity_database_capacity",
                "instance/<int:instance_id>/database/<path:database>/",
            ),
            view(pages.top_growers_page, "capacity_top_growers", "top-growers/"),
            *super().get_urls(),
        ]
