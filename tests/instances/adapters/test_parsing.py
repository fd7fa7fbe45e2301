"""The engine-neutral role graph and effective privileges (``instances/adapters/parsing.py``).

The property test compares ``RoleGraph.reach`` / ``effective_privileges`` on
random role graphs with a brute force that enumerates every simple path.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from instances.adapters.base import Privilege
from instances.adapters.parsing import (
    RoleEdge,
    RoleGraph,
    RoleReach,
    effective_privileges,
    privilege_label,
    reasons_dict,
    sorted_privileges,
)

NODES = ["login", "a", "b", "c", "d", "e"]


def brute_force(start: str, edges: list[RoleEdge]) -> dict[str, tuple[bool, tuple[str, ...]]]:
    """role → (only by SET ROLE, path): every simple path from ``start``; a path is
    valid when some set_role edges come first and inheriting edges follow (a
    held path inherits all the way); the shortest, then smallest, path wins."""
    options: dict[tuple[str, str], list[bool]] = {}
    for e in edges:
        o = options.setdefault((e.member, e.role), [False, False])
        o[0] |= e.inherit
        o[1] |= e.set_role
    paths: list[tuple[str, ...]] = []

    def walk(node: str, path: tuple[str, ...]) -> None:
        for (member, role) in options:
            if member == node and role != start and role not in path:
                paths.append((*path, role))
                walk(role, (*path, role))

    walk(start, ())

    def hops(path):
        nodes = (start, *path)
        return [options[(nodes[i], nodes[i + 1])] for i in range(len(path))]

    def held(path):
        return all(inherit for inherit, _ in hops(path))

    def valid(path):
        steps = hops(path)
        return any(all(s for _, s in steps[:j]) and all(i for i, _ in steps[j:]) for j in range(len(steps) + 1))

    result: dict[str, tuple[bool, tuple[str, ...]]] = {}
    for role in {p[-1] for p in paths}:
        ending = [p for p in paths if p[-1] == role]
        kept = [p for p in ending if held(p)]
        only_set_role = not kept
        if only_set_role:
            kept = [p for p in ending if valid(p)]
        if kept:
            result[role] = (only_set_role, min(kept, key=lambda p: (len(p), p)))
    return result


edge_strategy = st.builds(
    RoleEdge,
    member=st.sampled_from(NODES),
    role=st.sampled_from(NODES[1:]),
    inherit=st.booleans(),
    set_role=st.booleans(),
    admin=st.booleans(),
).filter(lambda e: e.member != e.role)
grants_strategy = st.dictionaries(
    st.sampled_from(NODES),
    st.lists(st.builds(Privilege, level=st.just("database"), privilege=st.sampled_from(["SELECT", "DELETE"]),
                       target=st.sampled_from(["app", "crm"]), grantable=st.booleans()), max_size=3),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(edges=st.lists(edge_strategy, max_size=14), grants=grants_strategy)
def test_effective_set_equals_brute_force_closure(edges, grants):
    graph = RoleGraph(edges)
    expected = brute_force("login", edges)
    reached = {r.role: (r.set_role, r.via) for r in graph.reach("login")}
    assert reached == expected
    want = set(grants.get("login", ()))
    for role, (only_set_role, via) in expected.items():
        want |= {Privilege(p.level, p.privilege, p.target, p.grantable, p.state, via, only_set_role)
                 for p in grants.get(role, ())}  # fmt: skip
    assert set(effective_privileges("login", graph, grants)) == want


@settings(max_examples=300, deadline=None)
@given(edges=st.lists(edge_strategy, max_size=14))
def test_logins_granted_the_same_roles_share_their_reach_and_never_reach_themselves(edges):
    # RoleGraph.reach answers every login with the same grants from one computation: each answer
    # must still be that login's own (a cycle may lead back to one of them)
    twins = [RoleEdge(twin, e.role, e.inherit, e.set_role, e.admin)
             for twin in ("twin", "a") for e in edges if e.member == "login" and e.role != twin]  # fmt: skip
    all_edges = edges + twins
    graph = RoleGraph(all_edges)
    for login in ("login", "twin", "a"):
        reached = {r.role: (r.set_role, r.via) for r in graph.reach(login)}
        assert reached == brute_force(login, all_edges)


def test_paths_are_shortest_then_in_name_order_and_held_before_set_role():
    graph = RoleGraph([
        RoleEdge("login", "z"), RoleEdge("login", "b"), RoleEdge("z", "top"), RoleEdge("b", "mid"),
        RoleEdge("mid", "top"), RoleEdge("login", "n", inherit=False), RoleEdge("n", "deep"),
    ])  # fmt: skip
    assert list(graph.reach("login")) == [
        RoleReach("b", ("b",), False), RoleReach("z", ("z",), False), RoleReach("mid", ("b", "mid"), False),
        RoleReach("top", ("z", "top"), False), RoleReach("n", ("n",), True), RoleReach("deep", ("n", "deep"), True),
    ]  # fmt: skip


def test_a_noinherit_edge_without_set_role_reaches_nothing_and_duplicate_grants_combine():
    assert RoleGraph([RoleEdge("login", "r", inherit=False, set_role=False)]).reach("login") == ()
    graph = RoleGraph([RoleEdge("login", "r", inherit=False, admin=True), RoleEdge("login", "r", set_role=False)])
    assert graph.direct("login") == [RoleEdge("login", "r", inherit=True, set_role=True, admin=True)]
    assert graph.reach("login") == (RoleReach("r", ("r",), False),)


def test_cycles_end():
    graph = RoleGraph([RoleEdge("login", "a"), RoleEdge("a", "b"), RoleEdge("b", "a"), RoleEdge("b", "login")])
    assert [r.role for r in graph.reach("login")] == ["a", "b"]


def test_labels_and_reasons():
    p = Privilege("database", "DELETE", "app", via=("reporting",))
    assert privilege_label(p) == "DELETE on app.* via reporting"
    assert privilege_label({"privilege": "SELECT", "level": "object", "target": "app.t", "grantable": True,
                            "state": "GRANT", "via": ["a", "b"], "via_set_role": True}) == (
        "SELECT on object app.t WITH GRANT OPTION via a → b (after SET ROLE)")  # fmt: skip
    assert privilege_label(Privilege("global", "CONTROL SERVER", state="DENY")) == "DENY CONTROL SERVER on *.*"
    assert reasons_dict(can_grant=["x", "x", "y"], is_locked=[]) == {"can_grant": ("x", "y")}
    direct, via = Privilege("database", "SELECT", "app"), Privilege("database", "SELECT", "app", via=("r",))
    assert sorted_privileges([via, direct, Privilege("global", "SUPER"), direct]) == (
        Privilege("global", "SUPER"), direct, via)  # fmt: skip


def test_an_implied_privilege_is_labelled_and_encoded_with_what_implies_it_and_a_grant_is_unchanged():
    from accounts.diff import facts_json
    from instances.adapters.base import AccountFacts, Privilege
    from instances.adapters.parsing import privilege_label

    implied = Privilege("global", "ALL", "", implied_by="superuser")
    granted = Privilege("database", "CONNECT", "app")
    assert privilege_label(implied) == "ALL on *.* (implied by superuser)"
    assert privilege_label(granted) == "CONNECT on app.*"
    text = facts_json(AccountFacts(username="postgres", privileges=(granted, implied)))
    assert '"implied_by":"superuser"' in text
    # a grant's JSON has no implied_by key: facts stored before implied privileges existed stay equal
    assert text.count("implied_by") == 1
