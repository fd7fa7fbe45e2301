"""Reads of the audit trail."""

from __future__ import annotations

from whalefall.csv_export import CsvColumns

#: the audit list's columns in a CSV export
AUDIT_CSV_COLUMNS: CsvColumns = (
    ("occurred_at", "occurred_at"), ("username", "username"), ("channel", "channel"), ("action", "action"),
    ("object_type", "object_type"), ("object_id", "object_id"), ("outcome", "outcome"),
    ("status_code", "status_code"), ("remote_addr", "remote_addr"), ("detail", "detail"),
)  # fmt: skip
