"""The indexed SQL of the who-can search never drops an entry the rules would use: for random
entries written by the real sync and random questions, the answer through the index
(``accounts.selectors.who_can``: SQL narrowing, then ``account_answer`` over the candidates)
equals ``account_answer`` over all of the account's entries."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.selectors import who_can
from accounts.services import accounts_apply
from accounts.whocan import LEVELS, OBJECT_LEVELS, account_answer, asked_object
from instances.adapters.base import AccountFacts, Privilege
from tests.support.factories import make_instance

pytestmark = pytest.mark.django_db

# few names, so that questions and entries meet often; some are MySQL patterns or need escaping
NAMES = ["a", "b", "ab", "a_b", "aXb", "a%", "a\\_b", "%", "_"]
PRIVILEGES = ["SELECT", "DELETE", "delete", "ALL", "CONTROL", "CONTROL SERVER", "USAGE",
              "DEFAULT SELECT ON TABLES FOR ROLE r"]  # fmt: skip

names = st.sampled_from(NAMES)
questions = st.fixed_dictionaries(
    {
        "privilege": st.sampled_from(["SELECT", "DELETE", "CONTROL", None]),
        "parts": st.lists(st.sampled_from([n for n in NAMES if "%" not in n]), min_size=1, max_size=4).map(tuple),
        "include_set_role": st.booleans(),
        "include_contained": st.booleans(),
    }
)


@st.composite
def mysql_patterns(draw, name: str) -> str:
    """A database-level pattern that matches ``name`` (or nearly does): a prefix and %, % and a
    suffix, one character replaced by _, underscores escaped, one character too many."""
    cut = draw(st.integers(0, len(name)))
    kind = draw(st.sampled_from(["prefix%", "%suffix", "one_", "escaped", "nearly"]))
    if kind == "prefix%":
        return name[:cut] + "%"
    if kind == "%suffix":
        return "%" + name[cut:]
    if kind == "one_" and name:
        i = min(cut, len(name) - 1)
        return name[:i] + "_" + name[i + 1 :]
    if kind == "escaped":
        return name.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")
    return name + "_"  # one character longer: matches nothing of this length


@st.composite
def held_privileges(draw, parts: tuple[str, ...], db_type: str, asked: str | None) -> list[Privilege]:
    """Entries on the asked object, around it (containing, inside, beside) and anywhere, at the
    level their target names on this engine or at any level; the asked privilege most often."""
    levels = OBJECT_LEVELS[db_type]
    names_held = st.sampled_from([asked or "SELECT"] * 4 + PRIVILEGES)
    result = []
    for _ in range(draw(st.integers(0, 8))):
        kinds = ["containing", "inside", "random", "global"] + ["pattern"] * 3 * (db_type == "mysql")
        kind = draw(st.sampled_from(kinds))
        if kind == "containing":
            target = ".".join(parts[: draw(st.integers(1, len(parts)))])
        elif kind == "inside":
            extra = draw(st.lists(names, min_size=1, max_size=max(1, 4 - len(parts))))
            target = ".".join((*parts, *extra))
        elif kind == "pattern":
            target = draw(mysql_patterns(parts[0]))
        else:
            target = ".".join(draw(st.lists(names, min_size=1, max_size=4)))
        count = len(target.split("."))
        fitting = levels[count - 1] if count <= len(levels) and kind != "pattern" else "database"
        if kind == "pattern":
            level = "database"  # a MySQL pattern is a database-level target
        else:
            level = "global" if kind == "global" else draw(st.sampled_from([fitting, fitting, *LEVELS]))
        via = tuple(draw(st.lists(st.sampled_from(["r1", "r2"]), max_size=2)))
        result.append(Privilege(
            level, draw(names_held), "" if level == "global" else target, draw(st.booleans()),
            draw(st.sampled_from(["GRANT", "GRANT", "DENY"])), via, bool(via) and draw(st.booleans()),
            draw(st.sampled_from([None, None, "sysadmin", "dbo", "owner"])),
        ))  # fmt: skip
    return result


@pytest.fixture
def instances(db):
    return {db_type: make_instance(db_type=db_type) for db_type in OBJECT_LEVELS}


def _fields(entry) -> tuple:
    return (entry.privilege.upper(), entry.level, entry.target, entry.grantable, entry.state, tuple(entry.via),
            entry.via_set_role, entry.implied_by)  # fmt: skip


@pytest.mark.parametrize("db_type", sorted(OBJECT_LEVELS))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=questions, data=st.data())
def test_the_index_answers_as_the_rules_do_over_every_entry(instances, db_type, question, data):
    held = data.draw(held_privileges(question["parts"], db_type, question["privilege"]))
    instance = instances[db_type]
    accounts_apply(instance=instance, accounts=[AccountFacts("u", "%", privileges=tuple(held))])
    asked = asked_object(question["parts"], db_type)
    expected = None
    if asked is not None:
        options = {k: question[k] for k in ("privilege", "include_set_role", "include_contained")}
        expected = account_answer(held, asked=asked, **options)
    answer = who_can(instance_id=instance.pk, **question)
    assert [_fields(item.entry) for item in answer] == ([_fields(expected)] if expected is not None else [])
