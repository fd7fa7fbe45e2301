"""Pure helpers shared by the engines' ``parse.py`` modules (no driver, no ORM)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any


def role_closure(direct: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """For each grantee, every role reachable through role grants, directly or
    through other roles (iterative, cycle-safe)."""
    result: dict[str, set[str]] = {}
    for grantee in direct:
        seen: set[str] = set()
        stack = list(direct.get(grantee, ()))
        while stack:
            role = stack.pop()
            if role not in seen:
                seen.add(role)
                stack.extend(direct.get(role, ()))
        result[grantee] = seen
    return result


def json_safe(value: Any) -> Any:
    """``value`` as something ``json.dumps`` accepts (dates → ISO text, bytes → upper-case hex)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return value.hex().upper()
    return value
