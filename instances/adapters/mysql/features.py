"""What the connected MySQL/MariaDB server supports, from its version string alone.

The version comes from the handshake packet (no query), so features cost no
statement. MySQL and MariaDB diverged after 5.5: MariaDB stores accounts in
``mysql.global_priv`` (JSON, 10.4+) with ``mysql.user`` as a view, and roles in
``mysql.roles_mapping``; MySQL 8 keeps ``mysql.user`` as a table with roles in
``mysql.role_edges``/``mysql.default_roles``.
"""

from __future__ import annotations

from functools import cached_property

from instances.adapters.common import version_tuple


class MySQLFeatures:
    def __init__(self, server_version: str):
        # MariaDB's handshake says "5.5.5-10.11.19-MariaDB…" so old clients accept it.
        self.server_version = server_version.removeprefix("5.5.5-")

    @cached_property
    def is_mariadb(self) -> bool:
        return "mariadb" in self.server_version.lower()

    @cached_property
    def version(self) -> tuple[int, int, int]:
        return version_tuple(self.server_version)

    @cached_property
    def has_global_priv(self) -> bool:
        """MariaDB 10.4+: ``mysql.global_priv`` holds account_locked (and more) as JSON."""
        return self.is_mariadb and self.version >= (10, 4, 0)

    @cached_property
    def has_roles_mapping(self) -> bool:
        """MariaDB 10.0.5+: roles are ``mysql.user`` rows with is_role='Y', grants in ``roles_mapping``."""
        return self.is_mariadb and self.version >= (10, 0, 5)

    @cached_property
    def has_role_edges(self) -> bool:
        """MySQL 8.0+: ``mysql.role_edges`` and ``mysql.default_roles``."""
        return not self.is_mariadb and self.version >= (8, 0, 0)

    @cached_property
    def has_account_locked_column(self) -> bool:
        """MySQL 5.7.6+: ``mysql.user.account_locked`` (MariaDB keeps it in global_priv JSON)."""
        return not self.is_mariadb and self.version >= (5, 7, 6)

    @cached_property
    def has_dynamic_privileges(self) -> bool:
        """MySQL 8.0+: ``mysql.global_grants`` (SYSTEM_VARIABLES_ADMIN, …)."""
        return not self.is_mariadb and self.version >= (8, 0, 0)

    @cached_property
    def has_partial_revokes(self) -> bool:
        """MySQL 8.0.16+: partial revokes, stored as ``Restrictions`` in ``mysql.user.User_attributes``
        (MySQL 8.0 Reference Manual 6.2.12 "Privilege Restriction Using Partial Revokes")."""
        return not self.is_mariadb and self.version >= (8, 0, 16)

    @cached_property
    def has_delete_history_priv(self) -> bool:
        """MariaDB 10.3.4+: ``Delete_history_priv`` (system-versioned tables)."""
        return self.is_mariadb and self.version >= (10, 3, 4)

    @cached_property
    def has_role_privs_columns(self) -> bool:
        """MySQL 8.0+: ``Create_role_priv``/``Drop_role_priv`` in ``mysql.user``."""
        return not self.is_mariadb and self.version >= (8, 0, 0)

    @cached_property
    def has_stats_expiry(self) -> bool:
        """MySQL 8.0.3+ caches information_schema.TABLES sizes for a day unless told otherwise."""
        return not self.is_mariadb and self.version >= (8, 0, 3)

    @cached_property
    def has_password_validation(self) -> bool:
        """MariaDB 10.1.2+: password validation plugins and ``strict_password_validation``
        (MySQL: the validate_password plugin/component, read through its variables)."""
        return not self.is_mariadb or self.version >= (10, 1, 2)
