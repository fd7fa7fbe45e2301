"""Capacity API serializers. Sizes are bytes; every ``*_bytes`` has a ``*_mb`` twin (MiB, 2 decimals)."""

from __future__ import annotations

from rest_framework import serializers

from capacity.models import DatabaseSizeCurrent, DatabaseSizeStat, DatabaseTableSizeStat, InstanceSizeStat

MIB = 1024 * 1024


def to_mb(value: int | None) -> float | None:
    """Bytes → MiB rounded to 2 decimals (None stays None)."""
    return None if value is None else round(value / MIB, 2)


class _SizeSerializer(serializers.ModelSerializer):
    size_mb = serializers.SerializerMethodField()
    data_mb = serializers.SerializerMethodField()
    log_mb = serializers.SerializerMethodField()

    def get_size_mb(self, obj) -> float:
        return to_mb(obj.size_bytes)

    def get_data_mb(self, obj) -> float | None:
        return to_mb(obj.data_bytes)

    def get_log_mb(self, obj) -> float | None:
        return to_mb(obj.log_bytes)


class DatabaseSizeCurrentSerializer(_SizeSerializer):
    """Latest size of one database."""

    class Meta:
        model = DatabaseSizeCurrent
        fields = (
            "instance",
            "database_name",
            "size_bytes",
            "size_mb",
            "data_bytes",
            "data_mb",
            "log_bytes",
            "log_mb",
            "complete",
            "collected_at",
        )


class DatabaseSizeStatSerializer(_SizeSerializer):
    """One database on one day."""

    class Meta:
        model = DatabaseSizeStat
        fields = (
            "id",
            "instance",
            "database_name",
            "collected_date",
            "size_bytes",
            "size_mb",
            "data_bytes",
            "data_mb",
            "log_bytes",
            "log_mb",
            "complete",
            "collected_at",
        )


class InstanceSizeStatSerializer(serializers.ModelSerializer):
    """One instance's total on one day."""

    total_size_mb = serializers.SerializerMethodField()

    class Meta:
        model = InstanceSizeStat
        fields = ("id", "instance", "collected_date", "total_size_bytes", "total_size_mb", "database_count",
                  "complete", "collected_at")  # fmt: skip

    def get_total_size_mb(self, obj) -> float:
        return to_mb(obj.total_size_bytes)


class TableSizeSerializer(serializers.ModelSerializer):
    """One table of the stored snapshot."""

    size_mb = serializers.SerializerMethodField()
    data_mb = serializers.SerializerMethodField()
    index_mb = serializers.SerializerMethodField()

    class Meta:
        model = DatabaseTableSizeStat
        fields = ("schema_name", "table_name", "size_bytes", "size_mb", "data_bytes", "data_mb", "index_bytes",
                  "index_mb", "row_count", "complete", "collected_at")  # fmt: skip

    def get_size_mb(self, obj) -> float:
        return to_mb(obj.size_bytes)

    def get_data_mb(self, obj) -> float | None:
        return to_mb(obj.data_bytes)

    def get_index_mb(self, obj) -> float | None:
        return to_mb(obj.index_bytes)


class TableSizesPageSerializer(serializers.Serializer):
    """A page of the table-size snapshot of one database (documentation of the response)."""

    instance_id = serializers.IntegerField()
    database = serializers.CharField()
    collected_at = serializers.DateTimeField(allow_null=True, help_text="When the snapshot was taken; null: never.")
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = TableSizeSerializer(many=True)


class TableSizesRefreshSerializer(TableSizesPageSerializer):
    """The new snapshot after a refresh, with what changed and how long it took."""

    elapsed_ms = serializers.IntegerField(help_text="Wall time of the refresh (remote read + write), ms.")
    session_id = serializers.UUIDField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    deleted = serializers.IntegerField()
