"""Serializers for database types, credentials and instances.

Passwords are write-only: ``CredentialSerializer.password`` is never rendered,
and no serializer here reads ``password_encrypted``.
"""

from __future__ import annotations

from rest_framework import serializers

from instances.models import Credential, DatabaseType, Instance
from whalefall import serializers as strict


class DatabaseTypeSerializer(strict.ModelSerializer):
    class Meta:
        model = DatabaseType
        fields = ("name", "display_name", "default_port", "enabled")


class CredentialSerializer(strict.ModelSerializer):
    """A login used to reach instances; ``password`` is accepted but never returned."""

    password = strict.StrictCharField(
        write_only=True,
        trim_whitespace=False,
        max_length=1024,
        style={"input_type": "password"},
        help_text="Write-only; stored encrypted and never returned.",
    )
    instance_count = serializers.IntegerField(read_only=True, help_text="Instances using this credential.")

    class Meta:
        model = Credential
        fields = ("id", "name", "username", "password", "instance_count", "created_at", "updated_at")
        read_only_fields = ("created_at", "updated_at")


class CredentialUpdateSerializer(CredentialSerializer):
    """Like CredentialSerializer, but ``password`` may be omitted to keep the stored one."""

    password = strict.StrictCharField(
        write_only=True,
        required=False,
        trim_whitespace=False,
        max_length=1024,
        style={"input_type": "password"},
        help_text="Write-only; omit to keep the stored password.",
    )

    class Meta(CredentialSerializer.Meta):
        pass


class TagNamesField(serializers.ListField):
    """Tags as a list of names; reads the (prefetched) ``tags`` relation."""

    child = strict.StrictCharField(max_length=64)

    def to_representation(self, data):
        return [tag.name for tag in data.all()]


class InstanceSerializer(strict.ModelSerializer):
    """A monitored database server; ``db_type`` is the database type name, ``credential`` its id."""

    db_type = strict.StrictPrimaryKeyRelatedField(
        pk_type=str,
        queryset=DatabaseType.objects.all(),
        help_text="Database type name (see /api/v1/database-types).",
        error_messages={"does_not_exist": 'Unknown database type "{pk_value}".'},
    )
    port = strict.StrictIntegerField(min_value=1, max_value=65535)
    credential = strict.StrictPrimaryKeyRelatedField(
        queryset=Credential.objects.all(), allow_null=True, required=False, help_text="Credential id."
    )
    credential_name = serializers.CharField(source="credential.name", read_only=True, allow_null=True)
    tags = TagNamesField(required=False, help_text="Tag names; missing tags are created.")

    class Meta:
        model = Instance
        fields = (
            "id",
            "name",
            "db_type",
            "host",
            "port",
            "database_name",
            "credential",
            "credential_name",
            "environment",
            "is_active",
            "description",
            "tags",
            "connect_timeout",
            "statement_timeout",
            "size_limit_bytes",
            "version",
            "last_connected_at",
            "consecutive_failures",
            "suspended_at",
            "created_at",
            "updated_at",
            "deleted_at",
        )
        read_only_fields = ("version", "last_connected_at", "consecutive_failures", "suspended_at", "created_at",
                            "updated_at", "deleted_at")  # fmt: skip


class ConnectionTestSerializer(serializers.Serializer):
    """Result of a successful connection test (the version is also stored on the instance)."""

    instance_id = serializers.IntegerField()
    version = serializers.CharField(help_text="Server version string.")
    latency_ms = serializers.FloatField(help_text="Wall time of connect + one query, in milliseconds.")


class PrivilegeCheckSerializer(serializers.Serializer):
    """One collector's check (instances/adapters/privileges.py)."""

    collector = serializers.ChoiceField(
        choices=["account_sync", "database_sizes", "table_sizes", "database"],
        help_text="account_sync (its catalog reads), database_sizes, table_sizes, or database "
        "(PostgreSQL, SQL Server: CONNECT on the database named by target).",
    )
    target = serializers.CharField(
        allow_blank=True, help_text="What is checked within the collector: a table, a database, or '' for all of it."
    )
    ok = serializers.BooleanField(help_text="Whether the monitoring login can run it.")
    detail = serializers.CharField(help_text="Why.")
    fix = serializers.CharField(
        allow_null=True, help_text="The GRANT statement(s) that fix a failing check; null when ok or no GRANT can."
    )


class PrivilegeReportSerializer(serializers.Serializer):
    """The monitoring-account self-check of one instance."""

    instance_id = serializers.IntegerField()
    checks = PrivilegeCheckSerializer(many=True)
    ok = serializers.BooleanField(help_text="True when every check is ok.")
