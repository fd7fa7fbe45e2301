"""The audit trail, read-only: nobody edits or deletes an event by hand (retention does)."""

from __future__ import annotations

from django.contrib import admin

from audit.models import AuditEvent
from audit.selectors import AUDIT_CSV_COLUMNS
from whalefall.admin_tools import BigTableAdmin, CsvExportMixin, pretty_json, recent_date_filter


@admin.register(AuditEvent)
class AuditEventAdmin(CsvExportMixin, BigTableAdmin):
    list_display = ("occurred_at", "outcome", "username", "channel", "action", "object", "remote_addr")
    list_filter = (recent_date_filter("occurred_at", default="30", title="when"), "channel", "outcome")
    search_fields = ("=username", "action", "=object_id")
    date_hierarchy = None
    actions = ("export_csv",)
    csv_columns = AUDIT_CSV_COLUMNS
    fields = ("occurred_at", "user", "username", "channel", "action", "object_type", "object_id", "outcome",
              "status_code", "remote_addr", "detail_json")  # fmt: skip
    readonly_fields = fields

    @admin.display(description="Object", ordering="object_type")
    def object(self, obj: AuditEvent) -> str:
        return f"{obj.object_type} {obj.object_id}".strip() or "-"

    @admin.display(description="Detail")
    def detail_json(self, obj: AuditEvent) -> str:
        return pretty_json(obj.detail)
