"""What the connected PostgreSQL server supports, from ``server_version_num``
(libpq reports it at connection start: no statement)."""

from __future__ import annotations


class PostgreSQLFeatures:
    def __init__(self, server_version_num: int):
        # e.g. 150019 for 15.19, 180001 for 18.1
        self.version_num = int(server_version_num or 0)

    @property
    def major(self) -> int:
        return self.version_num // 10000

    @property
    def has_grant_inherit_set_options(self) -> bool:
        """PostgreSQL 16+: ``pg_auth_members.inherit_option``/``set_option`` per membership
        (before: INHERIT is a property of the member role, every membership allows SET ROLE)."""
        return self.major >= 16

    @property
    def has_parameter_acl(self) -> bool:
        """PostgreSQL 15+: ``GRANT SET | ALTER SYSTEM ON PARAMETER`` (``pg_parameter_acl``)."""
        return self.major >= 15
