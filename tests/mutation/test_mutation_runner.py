"""bin/mutate-catalog-sql's harness on a fixed handful of mutations (the whole run is by hand, docs/testing.md):
one per engine, each against the test that catches it, is caught; a mutation run against tests that never
execute its SQL survives and is reported; the checkout is never mutated."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from tests.mutation.runner import ENGINES, ROOT, load, report, run

pytestmark = pytest.mark.live  # the MySQL and PostgreSQL mutations run the live tests

# engine: (a mutation, the executed test that catches it)
FAST = {
    "mysql": ("database exists: any other schema answers",
              "tests/instances/adapters/test_mysql_live.py::test_table_sizes_of_unknown_database_is_an_error"),
    "postgresql": ("roles: expired when VALID UNTIL is in the future",
                   "tests/instances/adapters/test_postgresql_live.py::test_expired_role_is_locked"),
    "sqlserver": ("server role members: role and member swapped",
                  "tests/instances/adapters/test_sqlserver_executed.py::test_nested_server_role_makes_sysadmin"),
    "oracle": ("role grants: grantee and granted role swapped",
               "tests/instances/adapters/test_oracle_executed.py::test_role_to_role_to_system_privilege_with_admin_option"),
}  # fmt: skip


def mutation(engine: str, description: str):
    (found,) = [m for m in load(engine)[0] if m.description == description]
    return found


def digest(paths) -> dict[str, str]:
    return {path: hashlib.sha256((ROOT / path).read_bytes()).hexdigest() for path in paths}


def test_one_mutation_per_engine_is_caught_and_one_run_against_unrelated_tests_survives():
    steps = [(engine, [mutation(engine, FAST[engine][0])], [FAST[engine][1]]) for engine in ENGINES]
    unrelated = mutation("sqlserver", FAST["sqlserver"][0])
    steps.append(("sqlserver (unrelated tests)", [unrelated], ["tests/instances/adapters/test_oracle_parse.py"]))
    files = {m.path for _, mutations, _ in steps for m in mutations}
    before = digest(files)
    out = io.StringIO()

    results = run(steps, baseline=False, timeout=120, out=out)

    assert digest(files) == before  # the checkout is never mutated
    statuses = {engine: [o.status for o in outcomes] for engine, outcomes in results.items()}
    assert statuses == {**{engine: ["caught"] for engine in ENGINES}, "sqlserver (unrelated tests)": ["survived"]}, (
        out.getvalue()
    )
    printed = io.StringIO()
    assert not report(results, 90.0, out=printed)  # the survivor's 0 % is below the bar
    assert f"survived {unrelated.label}" in printed.getvalue()
    assert "sqlserver (unrelated tests) 0/1 caught (0 %)" in printed.getvalue()
    assert not list(Path(ROOT).glob("wf-mutate-*"))
