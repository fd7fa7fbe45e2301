"""Admin of the per-table size snapshots, with a "Refresh" button per database."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.http import urlencode

from capacity.models import DatabaseTableSizeStat
from capacity.services import table_sizes_refresh
from instances.models import SYNC_INSTANCE_PERMISSION, Instance
from whalefall.admin_tools import BigTableAdmin, format_bytes
from whalefall.errors import WhalefallError, describe
from whalefall.scoping import require_instance_in_scope


@admin.register(DatabaseTableSizeStat)
class DatabaseTableSizeStatAdmin(BigTableAdmin):
    """Latest per-table sizes (refreshed per database on demand)."""

    scope_instance_path = "instance"

    list_display = ("table", "database_name", "instance", "size", "data_size", "index_size", "row_count")
    list_select_related = ("instance",)
    search_fields = ("^table_name", "=database_name", "=instance__name")
    autocomplete_fields = ("instance",)
    fields = (
        "instance",
        "database_name",
        "schema_name",
        "table_name",
        "size_bytes",
        "data_bytes",
        "index_bytes",
        "row_count",
        "complete",
        "collected_at",
    )
    readonly_fields = fields
    ordering = ("instance_id", "database_name", "-size_bytes")
    change_list_template = "admin/capacity/databasetablesizestat/change_list.html"

    def get_urls(self):
        view = self.admin_site.admin_view(self.refresh_view)
        return [
            path("refresh/<int:instance_id>/<path:database>/", view, name="capacity_table_sizes_refresh"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        """Filtered to one instance + database (``?instance__id__exact=&database_name=``),
        the page shows a "Refresh" button for that database."""
        instance_id, database = request.GET.get("instance__id__exact", ""), request.GET.get("database_name", "")
        extra_context = extra_context or {}
        if instance_id.isdigit() and database and request.user.has_perm(SYNC_INSTANCE_PERMISSION):
            url = reverse("admin:capacity_table_sizes_refresh", args=[int(instance_id), database])
            extra_context["refresh_url"] = url
            extra_context["refresh_database"] = database
        return super().changelist_view(request, extra_context=extra_context)

    def refresh_view(self, request, instance_id: int, database: str):
        """POST: collect this database's table sizes now; on failure the old snapshot stays."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm(SYNC_INSTANCE_PERMISSION):
            raise PermissionDenied
        instance = get_object_or_404(Instance, pk=instance_id, deleted_at__isnull=True)
        require_instance_in_scope(request.user, instance.pk, acting=True)
        try:
            result = table_sizes_refresh(instance=instance, database=database, created_by=request.user)
        except (WhalefallError, ValidationError) as exc:
            code, message = describe(exc)
            text = f"Refresh of {database} failed ({code}): {message} The previous snapshot is kept."
            self.message_user(request, text, messages.ERROR)
        else:
            self.message_user(
                request,
                f"{database}: {result.tables} table(s) in {result.elapsed_ms} ms "
                f"({result.created} new, {result.deleted} removed).",
                messages.SUCCESS,
            )
        query = urlencode({"instance__id__exact": instance_id, "database_name": database})
        return HttpResponseRedirect(f"{reverse('admin:capacity_databasetablesizestat_changelist')}?{query}")

    @admin.display(description="Table", ordering="table_name")
    def table(self, obj: DatabaseTableSizeStat) -> str:
        return f"{obj.schema_name}.{obj.table_name}" if obj.schema_name else obj.table_name

    @admin.display(description="Size", ordering="size_bytes")
    def size(self, obj: DatabaseTableSizeStat) -> str:
        return format_bytes(obj.size_bytes)

    @admin.display(description="Data", ordering="data_bytes")
    def data_size(self, obj: DatabaseTableSizeStat) -> str:
        return format_bytes(obj.data_bytes)

    @admin.display(description="Indexes", ordering="index_bytes")
    def index_size(self, obj: DatabaseTableSizeStat) -> str:
        return format_bytes(obj.index_bytes)


