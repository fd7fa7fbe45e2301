"""The mutation lists of bin/mutate-catalog-sql stay applicable: every ``tests/mutation/catalog_*.py``
names at least 12 mutations of its engine's adapter (sql.py unless a file is named), each original
occurs exactly once in its file and its replacement changes the text, and every test it names exists
(the whole run is by hand; test_mutation_runner.py runs a few mutations)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from tests.mutation.runner import ENGINES, load

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(path.stem for path in Path(__file__).parent.glob("catalog_*.py"))


@pytest.mark.parametrize("name", MODULES)
def test_mutations_apply_to_the_sql_they_name(name):
    engine = name.removeprefix("catalog_")
    mutations, tests = load(engine)
    assert len(mutations) >= 12
    for mutation in mutations:
        assert mutation.path.startswith(f"instances/adapters/{engine}/"), mutation.label
        text = (ROOT / mutation.path).read_text()
        count = text.count(mutation.original)
        assert count == 1, f"{mutation.label}: {mutation.original!r} occurs {count} times in {mutation.path}"
        assert mutation.replacement != mutation.original, mutation.label
    assert len({m.description for m in mutations}) == len(mutations)
    module = importlib.import_module(f"tests.mutation.{name}")
    assert all(len(entry) in (3, 4) for entry in module.MUTATIONS)
    for test in tests:
        path, _, function = test.partition("::")
        assert (ROOT / path).exists(), test
        assert not function or f"def {function}(" in (ROOT / path).read_text(), test


def test_every_engine_has_a_list_and_at_least_40_mutations_in_all():
    assert set(MODULES) == {f"catalog_{engine}" for engine in ENGINES}
    assert sum(len(load(engine)[0]) for engine in ENGINES) >= 40
