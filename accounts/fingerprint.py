"""Fingerprint of an account listing: raw catalog rows + the code that reads them.

A resync that reads exactly the rows it read last time, through the same
code, would compute exactly the state it stored last time: it can skip
parsing, comparing and writing. The fingerprint therefore covers

- the raw rows of ``adapter.read_account_rows()`` (every account query has an
  ORDER BY), encoded by ``marshal`` format 2 — values only: unlike later formats
  it writes no back-references, which would depend on which objects happen to
  be shared — or, when a value is of a type marshal does not take (datetime,
  Decimal), by ``repr``, deterministic for the driver types; and
- the source of every module that turns those rows into stored state (the
  engine's adapter package, the shared adapter modules, this app's state
  encoding and SQL): after an upgrade that changes any of them, the first
  sync of each instance compares everything again.

A false "changed" (rows in another order, a value whose ``repr`` is not
stable) only costs the full comparison; it never writes a wrong state.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import marshal
import sys
from pathlib import Path

from instances.adapters.base import AccountRows, BaseAdapter, Rows

# Modules, besides the engine's own package, whose code decides the stored state.
_STATE_MODULES = (
    "instances.adapters.base",
    "instances.adapters.rows",
    "instances.adapters.parsing",
    "instances.adapters.matching",
    "instances.adapters.matching.mysql",
    "accounts.diff",
    "accounts.encoding",
    "accounts.services",
    "accounts.sql",
    "accounts.unread",
    "accounts.whocan",
)


#: marshal's format 2: no references between equal objects (format 3+), so equal values give
#: equal bytes whatever objects the driver shared
_MARSHAL_VALUES_ONLY = 2


@functools.cache
def _code_digest(adapter_class: type[BaseAdapter]) -> bytes:
    """Digest of every ``.py`` file of the adapter's package (read from disk, so
    every process gets the same value whatever it imported) and of the
    ``_STATE_MODULES``."""
    package_dir = Path(sys.modules[adapter_class.__module__].__file__).parent
    files = sorted(package_dir.glob("*.py"))
    for name in _STATE_MODULES:
        module = sys.modules.get(name) or importlib.import_module(name)
        files.append(Path(module.__file__))
    digest = hashlib.blake2b(digest_size=16)
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.digest()


def _compact(value):
    # a list of row dicts: its column names once, then the values (half the text to hash); the
    # same text straight from the driver's tuples when the dicts were never built (Rows)
    if isinstance(value, Rows) and not value.built:
        return [value.columns] + [tuple(row) for row in value.raw] if value.raw else []
    if isinstance(value, Rows):
        value = value.dicts()
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [tuple(value[0])] + [tuple(row.values()) for row in value]
    return value


def listing_fingerprint(*, adapter: BaseAdapter, rows: AccountRows) -> str:
    """Hex digest of ``rows`` as read by ``adapter``'s code."""
    digest = hashlib.blake2b(_code_digest(type(adapter)), digest_size=16)
    compact = {name: _compact(value) for name, value in rows.items()}
    try:  # four times faster than repr on 10,000 rows
        digest.update(b"marshal\0" + marshal.dumps(compact, _MARSHAL_VALUES_ONLY))
    except ValueError:  # a type marshal does not take
        digest.update(b"repr\0" + repr(compact).encode())
    # a partial read never equals a full one, whatever its rows, nor one whose scopes or reasons
    # differ (the same partial read again is unchanged: accounts/unread.py)
    unread = adapter.account_unread_scopes(rows)
    if unread:
        digest.update(b"\0unread\0" + repr(unread).encode())
    return digest.hexdigest()
