"""Pure functions: Oracle catalog rows (dicts keyed by upper-case column name) → dataclasses.

No driver and no ORM here, so every rule is testable from recorded rows.

Account summary rules (documented in docs/adapters_sqlserver_oracle.md):

- ``is_superuser``: holds the DBA role (directly or through nested roles) or
  SYSDBA in the password file (V$PWFILE_USERS). "… ANY …" system privileges
  alone do not make a superuser; they are listed in the privileges/snapshot.
- ``can_grant``: superuser; any role or system privilege granted WITH ADMIN
  OPTION; any object/column privilege WITH GRANT OPTION; or GRANT ANY
  PRIVILEGE / GRANT ANY ROLE / GRANT ANY OBJECT PRIVILEGE held directly or
  through roles (including PUBLIC).
- ``is_locked``: ACCOUNT_STATUS contains LOCKED (LOCKED, LOCKED(TIMED),
  EXPIRED & LOCKED, …). Expiry is noted in the snapshot (``expired``,
  ``in_grace``), it does not lock.
- ``can_login``: CREATE SESSION held directly, through roles or PUBLIC, and
  AUTHENTICATION_TYPE is not NONE (18c+ schema-only accounts).
- ``roles``: every role granted directly or inherited through role→role grants.
- ``privileges``: system (global), object and column privileges granted
  *directly* to the user; privileges held through roles are represented by the
  role names.

Oracle-maintained accounts (ORACLE_MAINTAINED='Y') are excluded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from instances.adapters.base import AccountFacts, DatabaseInfo, DatabaseSize, Privilege, TableSize
from instances.adapters.parsing import json_safe, role_closure

Row = Mapping[str, Any]

# Tablespaces that belong to the engine, not to applications.
SYSTEM_TABLESPACES = frozenset({"SYSTEM", "SYSAUX"})
_GRANT_ANY = {"GRANT ANY PRIVILEGE", "GRANT ANY ROLE", "GRANT ANY OBJECT PRIVILEGE"}


@dataclass(frozen=True)
class TablespaceSize(DatabaseSize):
    """A tablespace's size in bytes and where it was read.

    ``source="dba"``: ``size_bytes``/``data_bytes`` = allocated data-file bytes
    (DBA_DATA_FILES), ``used_bytes`` = bytes in segments (DBA_SEGMENTS).
    ``source="user_segments"`` (DBA views denied): all three are the bytes of
    the connected user's own segments only, and ``complete`` is False.
    ``log_bytes`` is None: redo logs belong to the instance, not a tablespace.
    """

    used_bytes: int | None = None
    source: str = "dba"
    complete: bool = True


@dataclass(frozen=True)
class SegmentTableSize(TableSize):
    """A table's segment bytes in one tablespace (table + its index and LOB segments there).

    ``source`` is ``dba_segments`` or ``user_segments`` (fallback: the
    connected user's tables only, ``complete`` False).
    """

    lob_bytes: int | None = None
    source: str = "dba_segments"
    complete: bool = True






def parse_version(rows: Iterable[Row], driver_version: str | None = None) -> str:
    """``<product> <version>`` from PRODUCT_COMPONENT_VERSION, else the driver-reported version."""
    for row in rows:
        return f"{row['PRODUCT'].strip()} {row['VERSION']}"
    return driver_version or ""


def _yes(value: Any) -> bool:
    return str(value or "").strip().upper() in {"YES", "Y", "TRUE"}


def parse_tablespaces(rows: Iterable[Row]) -> list[DatabaseInfo]:
    """PERMANENT tablespaces except SYSTEM/SYSAUX (UNDO and TEMPORARY are not data)."""
    return [
        DatabaseInfo(name=row["TABLESPACE_NAME"])
        for row in rows
        if row["CONTENTS"] == "PERMANENT" and row["TABLESPACE_NAME"] not in SYSTEM_TABLESPACES
    ]


def parse_tablespace_sizes(
    tablespaces: Iterable[DatabaseInfo],
    data_files: Iterable[Row] | None,
    segments: Iterable[Row],
    *,
    source: str = "dba",
) -> list[TablespaceSize]:
    """Bytes per inventoried tablespace; ``data_files`` None on the user_segments fallback."""
    used = {row["TABLESPACE_NAME"]: int(row["BYTES"] or 0) for row in segments}
    allocated = None if data_files is None else {row["TABLESPACE_NAME"]: int(row["BYTES"] or 0) for row in data_files}
    sizes = []
    for tablespace in tablespaces:
        used_bytes = used.get(tablespace.name, 0)
        size = used_bytes if allocated is None else allocated.get(tablespace.name, 0)
        sizes.append(
            TablespaceSize(
                name=tablespace.name,
                size_bytes=size,
                data_bytes=size,
                log_bytes=None,
                used_bytes=used_bytes,
                source=source,
                complete=allocated is not None,
            )
        )
    return sizes


def parse_table_sizes(rows: Iterable[Row], *, source: str = "dba_segments") -> list[SegmentTableSize]:
    """Per-table segment bytes (schema = owner); ``row_count`` is NUM_ROWS (None if never analysed)."""
    return [
        SegmentTableSize(
            schema=row["OWNER"],
            table=row["TABLE_NAME"],
            size_bytes=int(row["BYTES"] or 0),
            data_bytes=int(row["DATA_BYTES"] or 0),
            index_bytes=int(row["INDEX_BYTES"] or 0),
            lob_bytes=int(row["LOB_BYTES"] or 0),
            row_count=None if row.get("NUM_ROWS") is None else int(row["NUM_ROWS"]),
            source=source,
            complete=source == "dba_segments",
        )
        for row in rows
    ]


def _direct_privileges(sys_privs: list[Row], tab_privs: list[Row], col_privs: list[Row]) -> list[Privilege]:
    privileges = [
        Privilege(level="global", privilege=row["PRIVILEGE"], grantable=_yes(row["ADMIN_OPTION"])) for row in sys_privs
    ]
    privileges += [
        Privilege(
            level="object",
            privilege=row["PRIVILEGE"],
            target=f"{row['OWNER']}.{row['TABLE_NAME']}",
            grantable=_yes(row["GRANTABLE"]),
        )
        for row in tab_privs
    ]
    privileges += [
        Privilege(
            level="column",
            privilege=row["PRIVILEGE"],
            target=f"{row['OWNER']}.{row['TABLE_NAME']}.{row['COLUMN_NAME']}",
            grantable=_yes(row["GRANTABLE"]),
        )
        for row in col_privs
    ]
    return privileges


def _status_snapshot(user: Row) -> dict[str, Any]:
    status = str(user["ACCOUNT_STATUS"] or "")
    keys = (
        "USER_ID", "ACCOUNT_STATUS", "LOCK_DATE", "EXPIRY_DATE", "DEFAULT_TABLESPACE", "TEMPORARY_TABLESPACE",
        "PROFILE", "AUTHENTICATION_TYPE", "CREATED",
    )  # fmt: skip
    snapshot = {key.lower(): json_safe(user.get(key)) for key in keys}
    snapshot["expired"] = "EXPIRED" in status
    snapshot["in_grace"] = "GRACE" in status
    snapshot["locked"] = "LOCKED" in status
    return snapshot


def _granted_roles_json(rows: list[Row]) -> list[dict[str, Any]]:
    return [
        {"role": r["GRANTED_ROLE"], "admin_option": _yes(r["ADMIN_OPTION"]), "default_role": _yes(r["DEFAULT_ROLE"])}
        for r in sorted(rows, key=lambda r: r["GRANTED_ROLE"])
    ]


def _by_grantee(rows: Iterable[Row]) -> dict[str, list[Row]]:
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[row["GRANTEE"]].append(row)
    return grouped


def build_accounts(
    users: Iterable[Row],
    role_privs: Iterable[Row],
    sys_privs: Iterable[Row],
    tab_privs: Iterable[Row],
    col_privs: Iterable[Row],
    pwfile_users: Iterable[Row],
) -> list[AccountFacts]:
    """One AccountFacts per non-Oracle-maintained user (see module doc for the rules)."""
    role_rows = _by_grantee(role_privs)
    roles_of = role_closure({grantee: [r["GRANTED_ROLE"] for r in rows] for grantee, rows in role_rows.items()})
    sys_rows, tab_rows, col_rows = _by_grantee(sys_privs), _by_grantee(tab_privs), _by_grantee(col_privs)
    pwfile = {row["USERNAME"]: row for row in pwfile_users}
    public_roles = roles_of.get("PUBLIC", set())

    accounts = []
    for user in users:
        if str(user.get("ORACLE_MAINTAINED") or "N") == "Y":
            continue
        name = user["USERNAME"]
        roles = roles_of.get(name, set())
        effective_sys = {r["PRIVILEGE"] for g in {name, "PUBLIC", *roles, *public_roles} for r in sys_rows.get(g, [])}
        own_roles = role_rows.get(name, [])
        privileges = _direct_privileges(sys_rows.get(name, []), tab_rows.get(name, []), col_rows.get(name, []))
        sysdba = _yes(pwfile.get(name, {}).get("SYSDBA"))
        is_superuser = "DBA" in roles or sysdba
        snapshot = _status_snapshot(user)
        snapshot.update(
            sysdba=sysdba,
            sysoper=_yes(pwfile.get(name, {}).get("SYSOPER")),
            granted_roles=_granted_roles_json(own_roles),
            effective_system_privileges=sorted(effective_sys),
        )
        accounts.append(
            AccountFacts(
                username=name,
                host="",
                is_superuser=is_superuser,
                can_grant=is_superuser
                or any(_yes(r["ADMIN_OPTION"]) for r in own_roles)
                or any(p.grantable for p in privileges)
                or bool(effective_sys & _GRANT_ANY),
                is_locked=snapshot["locked"],
                can_login="CREATE SESSION" in effective_sys and user.get("AUTHENTICATION_TYPE") != "NONE",
                roles=tuple(sorted(roles)),
                privileges=tuple(privileges),
                snapshot=snapshot,
            )
        )
    return accounts
