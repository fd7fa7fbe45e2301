"""The mutation lists of bin/mutate-catalog-sql stay applicable: every ``tests/mutation/catalog_*.py``
names at least 12 mutations of its engine's sql.py, each original occurs exactly once there and its
replacement changes the text, and every test path it names exists (the runner itself is run by hand)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(path.stem for path in Path(__file__).parent.glob("catalog_*.py"))


@pytest.mark.parametrize("name", MODULES)
def test_mutations_apply_to_the_sql_they_name(name):
    module = importlib.import_module(f"tests.mutation.{name}")
    engine = name.removeprefix("catalog_")
    text = (ROOT / "instances" / "adapters" / engine / "sql.py").read_text()
    assert len(module.MUTATIONS) >= 12
    for description, original, replacement in module.MUTATIONS:
        assert text.count(original) == 1, f"{description}: {original!r} occurs {text.count(original)} times"
        assert replacement != original, description
    assert len({description for description, _, _ in module.MUTATIONS}) == len(module.MUTATIONS)
    for test in module.TESTS:
        assert (ROOT / test.split("::")[0]).exists(), test


def test_both_emulated_engines_have_a_list():
    assert {"catalog_sqlserver", "catalog_oracle"} <= set(MODULES)
