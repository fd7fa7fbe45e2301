"""The audit trail, read-only: nobody edits or deletes an event by hand (retention does)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import CharField, Q
from django.db.models.functions import Cast

from audit.models import AuditEvent
from audit.selectors import AUDIT_CSV_COLUMNS
from whalefall.admin_tools import BigTableAdmin, CsvExportMixin, pretty_json, recent_date_filter
from whalefall.scoping import instance_model


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

    def scope_queryset(self, queryset, visible):
        """Team scopes (README § Team scopes): the entries about an instance outside the scope are
        left out; the others (logins, configuration, rows under an instance) are not about one."""
        label = instance_model()._meta.label_lower
        keys = visible.annotate(key=Cast("pk", CharField())).values("key")
        return queryset.exclude(Q(object_type=label) & ~Q(object_id__in=keys))

    @admin.display(description="Object", ordering="object_type")
    def object(self, obj: AuditEvent) -> str:
        return f"{obj.object_type} {obj.object_id}".strip() or "-"

    @admin.display(description="Detail")
    def detail_json(self, obj: AuditEvent) -> str:
        return pretty_json(obj.detail)
