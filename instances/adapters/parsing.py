"""Pure helpers shared by the engines' ``parse.py`` modules (no driver, no ORM).

The engine-neutral part of effective privileges lives here: a role graph
(``RoleGraph``: who holds which role, and whether the privileges flow without
``SET ROLE``), the paths from a login to every role it reaches
(``RoleGraph.reach``), and ``effective_privileges``, which puts each role's own
grants onto the login with that path. Each engine decides what an edge means
(PostgreSQL INHERIT / PG 16 per-grant options, MySQL default roles, Oracle
default roles, SQL Server nested roles) and what its own flags are.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from instances.adapters.base import Privilege


class RoleEdge(NamedTuple):
    """``member`` holds ``role``.

    ``inherit``: the member has the role's privileges without doing anything
    (PostgreSQL INHERIT, a MySQL/Oracle default role, any SQL Server
    membership). ``set_role``: the member may ``SET ROLE`` to it and then has
    its privileges. ``admin``: the member may grant the role to others.
    """

    member: Hashable
    role: Hashable
    inherit: bool = True
    set_role: bool = True
    admin: bool = False


class RoleReach(NamedTuple):
    """A role reached from a grantee: ``via`` is the path (the role last);
    ``set_role`` when only a ``SET ROLE`` reaches it (no path of inheriting edges)."""

    role: Hashable
    via: tuple
    set_role: bool


class RoleGraph:
    """Role grants as a graph, with the paths from a grantee to every role it reaches.

    A role is *held* (``set_role`` False) when a path of inheriting edges leads
    to it. Otherwise it is reachable by ``SET ROLE`` when a path of
    ``set_role`` edges leads to some role X (the one to set) and inheriting
    edges lead on from X. Of several paths the shortest is kept, and of equally
    short ones the first in name order, so a path is the same on every read.
    Several grants of one role to one member (PostgreSQL 16: one per grantor)
    are one edge with their options combined. Nodes are any sortable, hashable
    names (MySQL uses (user, host) keys).
    """

    def __init__(self, edges: Iterable[RoleEdge]):
        merged: dict[tuple[str, str], list[bool]] = {}
        for edge in edges:
            options = merged.setdefault((edge.member, edge.role), [False, False, False])
            options[0] |= edge.inherit
            options[1] |= edge.set_role
            options[2] |= edge.admin
        self.edges: dict[str, list[RoleEdge]] = defaultdict(list)
        for (member, role), (inherit, set_role, admin) in sorted(merged.items()):
            self.edges[member].append(RoleEdge(member, role, inherit, set_role, admin))
        # when every edge inherits, SET ROLE reaches nothing that is not already held
        self._only_inheriting = all(inherit for inherit, _, _ in merged.values())
        self._memo: dict[tuple[Hashable, bool], dict[Hashable, tuple]] = {}
        self._reach_memo: dict[tuple, tuple[RoleReach, ...]] = {}
        self._admin: dict[Hashable, list[Hashable]] = defaultdict(list)
        for (member, role), (_, _, admin) in sorted(merged.items()):
            if admin:
                self._admin[member].append(role)

    def direct(self, grantee: Hashable) -> list[RoleEdge]:
        """The grantee's own role grants, in role-name order."""
        return self.edges.get(grantee, [])

    def admin_reasons(self, grantee: Hashable, reached: Sequence[RoleReach]) -> list[str]:
        """``ADMIN OPTION on role R[ via …]`` for each role the grantee may grant: held WITH ADMIN
        OPTION by the grantee or by a role it holds without SET ROLE."""
        admin = self._admin
        if not admin:
            return []
        reasons = [f"ADMIN OPTION on role {role}" for role in admin.get(grantee, ())]
        for r in reached:
            if not r.set_role and r.role in admin:
                reasons += [f"ADMIN OPTION on role {role}{via_label(r.via)}" for role in admin[r.role]]
        return reasons

    def reach(self, grantee: Hashable) -> tuple[RoleReach, ...]:
        """Every role reached from ``grantee`` (not the grantee itself), held ones
        first, then by path length and path."""
        # A path from the grantee is its first edge plus a path from that role, so
        # the (memoised) paths from the roles are combined here: many logins share
        # few roles. A combined path through the grantee itself is never the
        # shortest, so it never wins over a simple one.
        edges = self.edges.get(grantee)
        if not edges:
            return ()
        # logins granted the same roles with the same options reach the same roles by the same
        # paths (no shortest path runs through a node whose edges are the start's), except the
        # login itself when a cycle leads back to it (MySQL/MariaDB roles may form cycles)
        key = tuple((edge.role, edge.inherit, edge.set_role) for edge in edges)
        shared = self._reach_memo.get(key)
        if shared is None:
            shared = self._reach_memo[key] = self._reach(edges)
        if any(r.role == grantee for r in shared):
            return tuple(r for r in shared if r.role != grantee)
        return shared  # shared by these logins: a tuple, so that nobody changes it

    def _reach(self, edges: list[RoleEdge]) -> tuple[RoleReach, ...]:
        held: dict[Hashable, tuple] = {}
        chosen: dict[Hashable, tuple] = {}
        for edge in edges:
            if edge.inherit:
                _offer(held, edge.role, (edge.role,))
                for role, path in self._paths(edge.role, True).items():
                    _offer(held, role, (edge.role, *path))
            if not self._only_inheriting and edge.set_role:
                _offer(chosen, edge.role, (edge.role,))
                for role, path in self._paths(edge.role, False).items():
                    _offer(chosen, role, (edge.role, *path))
        reached = [RoleReach(role, via, False) for role, via in held.items()]
        reached += [RoleReach(role, via, True) for role, via in chosen.items() if role not in held]
        return tuple(sorted(reached, key=lambda r: (r.set_role, len(r.via), r.via)))

    def set_path(self, grantee: Hashable, role: Hashable) -> tuple | None:
        """The shortest (then first in name order) path from ``grantee`` to ``role`` along
        edges that each allow ``SET ROLE``: the chain a ``SET ROLE role`` needs (PostgreSQL 16+:
        every grant on the way has the SET option). None when there is none."""
        paths: dict[Hashable, tuple] = {grantee: ()}
        queue = deque([grantee])
        while queue:
            node = queue.popleft()
            for edge in self.edges.get(node, ()):
                if edge.set_role and edge.role not in paths:
                    paths[edge.role] = (*paths[node], edge.role)
                    if edge.role == role:
                        return paths[role]
                    queue.append(edge.role)
        return None

    def granted_roles(self) -> set[Hashable]:
        """Every role granted to someone."""
        return {edge.role for edges in self.edges.values() for edge in edges}

    def _paths(self, start: Hashable, inheriting: bool) -> dict[Hashable, tuple]:
        """Paths from ``start`` to every role reached from it (memoised). ``inheriting``:
        along inheriting edges only; else first ``set_role`` edges (choosing the role
        to SET), then inheriting ones. Breadth first over name-sorted edges: the first
        path found to a role is the shortest, and the first in name order among those."""
        key = (start, inheriting)
        cached = self._memo.get(key)
        if cached is not None:
            return cached
        states: dict[tuple[Hashable, bool], tuple] = {key: ()}
        best: dict[Hashable, tuple] = {}
        queue = deque([key])
        while queue:
            state = queue.popleft()
            node, phase = state
            for edge in self.edges.get(node, ()):
                steps = [(edge.role, True)] if edge.inherit else []
                if edge.set_role and not phase:
                    steps.insert(0, (edge.role, False))
                for step in steps:
                    if step not in states:
                        states[step] = path = (*states[state], edge.role)
                        queue.append(step)
                        if edge.role != start:
                            best.setdefault(edge.role, path)
        self._memo[key] = best
        return best


def _offer(paths: dict, role: Hashable, path: tuple) -> None:
    """Keep ``path`` for ``role`` when it is shorter, or as short and earlier in name order."""
    current = paths.get(role)
    if current is None or (len(path), path) < (len(current), current):
        paths[role] = path


def effective_privileges(
    grantee: Hashable,
    graph: RoleGraph,
    grants: Mapping[Any, Sequence[Privilege]],
    reached: Sequence[RoleReach] | None = None,
    memo: dict | None = None,
) -> list[Privilege]:
    """The grantee's own grants (``via=()``), then each reached role's own grants
    with the path to that role (``grants``: principal → its direct grants;
    ``reached``: ``graph.reach(grantee)`` when the caller has it already). Pass the
    same ``memo`` dict for every grantee of one listing: logins that reach a role
    by the same path share its privilege objects (built once)."""
    result = list(grants.get(grantee, ()))
    for reach in graph.reach(grantee) if reached is None else reached:
        own = grants.get(reach.role)
        if not own:
            continue
        held = memo.get(reach) if memo is not None else None
        if held is None:
            # an entry's own ``via`` (PostgreSQL: ``pg_database_owner``) follows the path to the role,
            # and so does its own ``via_set_role`` (a PG < 16 NOINHERIT owner's pg_database_owner)
            held = [Privilege(p.level, p.privilege, p.target, p.grantable, p.state,
                              (*reach.via, *p.via) if p.via else reach.via, reach.set_role or p.via_set_role,
                              p.implied_by)
                    for p in own]  # fmt: skip
            if memo is not None:
                memo[reach] = held
        result += held
    return result


_LEVEL_ORDER = {"global": 0, "database": 1, "schema": 2, "object": 3, "column": 4}


def privilege_order(p: Privilege) -> tuple:
    """Sort key: level (global first), target, privilege, state, direct before via, held before SET ROLE,
    granted before implied."""
    return (_LEVEL_ORDER.get(p.level, 9), p.target, p.privilege, p.state, p.via_set_role, len(p.via), p.via,
            not p.grantable, p.implied_by or "")  # fmt: skip


class OrderedPrivileges(tuple):
    """Privileges already distinct and in ``privilege_order`` (what ``sorted_privileges`` returns):
    the account sync's canonical encoding takes them as they are instead of sorting them again."""

    __slots__ = ()


def sorted_privileges(privileges: Iterable[Privilege]) -> OrderedPrivileges:
    """Distinct privileges in ``privilege_order``."""
    privileges = tuple(privileges)
    if len(privileges) < 2:  # most accounts: nothing to sort
        return OrderedPrivileges(privileges)
    return OrderedPrivileges(sorted(set(privileges), key=privilege_order))


class SharedSnapshot(dict):
    """An account snapshot that several accounts of one listing share (``snapshot_interner``):
    equal inputs, one dict. Read-only by contract, like every snapshot. ``encoded`` is a slot for
    its consumer's encoding of it (the account sync's canonical JSON), so that a snapshot shared by
    thousands of accounts is encoded once."""

    __slots__ = ("encoded",)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.encoded: str | None = None

    def __reduce__(self):
        # a copy (copy, deepcopy, pickle) may be changed: it starts without the encoding
        return SharedSnapshot, (dict(self),)


def snapshot_interner() -> Callable[[Hashable, Callable[[], dict[str, Any]]], SharedSnapshot]:
    """``intern(key, build)``: the snapshot built for ``key`` by an earlier call, else
    ``build()``'s as a ``SharedSnapshot``. One interner per listing; ``key`` holds every input
    ``build`` reads (most logins have the same attributes and direct roles)."""
    snapshots: dict[Hashable, SharedSnapshot] = {}

    def intern(key: Hashable, build: Callable[[], dict[str, Any]]) -> SharedSnapshot:
        snapshot = snapshots.get(key)
        if snapshot is None:
            snapshot = snapshots[key] = SharedSnapshot(build())
        return snapshot

    return intern


def where_label(level: str, target: str) -> str:
    """``*.*`` (global), ``db.*`` (database), else ``<level> <target>`` (``object app.t``)."""
    if level == "global":
        return "*.*"
    if level == "database":
        return f"{target}.*"
    return f"{level} {target}"


def privilege_label(p: Privilege | Mapping[str, Any]) -> str:
    """One line for a privilege: ``DELETE on app.* via reporting``,
    ``SELECT on object app.t WITH GRANT OPTION``, ``DENY UPDATE on …``,
    ``… via a → b (after SET ROLE)``, ``ALL on *.* (implied by superuser)``.
    Accepts a Privilege or its facts dict."""
    get = p.get if isinstance(p, Mapping) else lambda name, default=None: getattr(p, name, default)
    label = f"{get('privilege')} on {where_label(get('level'), get('target') or '')}"
    if get("state", "GRANT") == "DENY":
        label = "DENY " + label
    if get("grantable"):
        label += " WITH GRANT OPTION"
    via = get("via") or ()
    if via:
        label += " via " + " → ".join(via)
    if get("via_set_role"):
        label += " (after SET ROLE)"
    implied_by = get("implied_by")
    if implied_by:
        label += f" (implied by {implied_by})"
    return label


def counted(privileges: Iterable[Privilege]) -> list[Privilege]:
    """The privileges the login holds without ``SET ROLE`` (what the flags count)."""
    return [p for p in privileges if not p.via_set_role]


def via_label(via: Sequence[str]) -> str:
    """`` via a → b`` for a role path, empty for a direct grant."""
    return " via " + " → ".join(via) if via else ""


def reasons_dict(**flags: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """``{flag: (reason, …)}`` for the flags with at least one reason (each reason once, in order)."""
    return {name: tuple(dict.fromkeys(reasons)) for name, reasons in flags.items() if reasons} if any(
        flags.values()
    ) else {}


def json_safe(value: Any) -> Any:
    """``value`` as something ``json.dumps`` accepts (dates → ISO text, bytes → upper-case hex)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return value.hex().upper()
    return value
