"""One-way layers (DESIGN.md § Layout) beyond what ``lint-imports`` sees.

``lint-imports`` (run by bin/test) checks imports. These tests check the rest:
no lower package names a higher one as a dotted path (``"accounts.services…"``,
the way django-q2 or ``import_string`` would load it), an admin URL name
(``"admin:accounts_…"``), an app label, or one of its tables in SQL.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parents[1]
# lowest first; packages on one floor ("accounts", "capacity") may not name each other either
LAYERS = [
    ("whalefall",), ("audit",), ("instances",), ("sync_sessions",), ("accounts", "capacity"), ("classification",),
    ("alerts",),
    ("console",),
]  # fmt: skip
# Configuration is the one place that lists every app: INSTALLED_APPS, ROOT_URLCONF, test adapters.
CONFIG_FILES = {"whalefall/settings.py", "whalefall/settings_test.py"}
# Seed 001's sync_sessions.sync_category values name kinds of work (a CHECK constraint), not
# packages: the model's choices and the migrations that create them.
CATEGORY_VALUES = {"capacity", "classification"}
CATEGORY_FILES = re.compile(r"sync_sessions/(models\.py|migrations/)")


def _higher(package: str) -> set[str]:
    index = next(i for i, floor in enumerate(LAYERS) if package in floor)
    above = {p for floor in LAYERS[index + 1 :] for p in floor}
    return above | {p for p in LAYERS[index] if p != package}


def _tables(package: str) -> set[str]:
    try:
        config = apps.get_app_config(package)
    except LookupError:
        return set()
    return {model._meta.db_table for model in config.get_models()}


def _submodules(package: str) -> list[str]:
    """Names of the package's modules and subpackages (what a dotted path continues with)."""
    return sorted({p.stem for p in (ROOT / package).iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()})


def _sources(package: str):
    for path in sorted((ROOT / package).rglob("*")):
        if path.suffix in {".py", ".html", ".txt"} and "__pycache__" not in path.parts:
            yield path.relative_to(ROOT).as_posix(), path.read_text()


def _violations(package: str) -> list[str]:
    found = []
    for higher in sorted(_higher(package)):
        patterns = [
            (re.compile(rf"(?<![\w.]){higher}[./](?:{'|'.join(_submodules(higher))})\b"), "dotted path"),
            (re.compile(rf"admin:{higher}_"), "admin URL name"),
            (re.compile(rf"[\"']{higher}[\"']"), "app label"),
        ]
        # a table in SQL (after FROM, JOIN, …) or as a quoted name; some tables are plain words
        # ("credentials", "tags") that prose and Django's own argument names use too
        patterns += [
            (re.compile(rf"(?i:\b(?:from|join|into|update|table|references)\s+)\"?{table}\b|[\"']{table}[\"']"),
             f"table of {higher}")
            for table in sorted(_tables(higher))
        ]  # fmt: skip
        for name, text in _sources(package):
            if name in CONFIG_FILES:
                continue
            for pattern, what in patterns:
                for match in pattern.finditer(text):
                    if what == "app label" and higher in CATEGORY_VALUES and CATEGORY_FILES.match(name):
                        continue
                    line = text.count("\n", 0, match.start()) + 1
                    found.append(f"{name}:{line}: {what} {match.group(0)!r}")
    return found


@pytest.mark.parametrize("package", [p for floor in LAYERS[:-1] for p in floor])
def test_lower_package_never_names_a_higher_one(package):
    assert _violations(package) == []


def test_the_check_finds_a_violation(tmp_path, monkeypatch):
    """The scan is not vacuous: a dotted path, a URL name and a table of a higher app are found."""
    probe = ROOT / "sync_sessions" / "_layer_probe.py"
    probe.write_text('X = "accounts.services.f"\nY = "admin:capacity_x"\nSQL = "UPDATE account_change_log SET"\n')
    try:
        found = _violations("sync_sessions")
    finally:
        probe.unlink()
    assert [v.split(": ", 1)[1] for v in found if "_layer_probe" in v] == [
        "dotted path 'accounts.services'", "table of accounts 'UPDATE account_change_log'",
        "admin URL name 'admin:capacity_'",
    ]  # fmt: skip
