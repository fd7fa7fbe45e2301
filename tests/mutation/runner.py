"""bin/mutate-catalog-sql: apply each semantic mutation of the catalog SQL alone and run the tests that
execute that SQL; a mutation the tests do not fail on (a survivor) is a wrong join, filter or code the
suite would ship.

The lists are ``tests/mutation/catalog_<engine>.py`` (``MUTATIONS`` and ``TESTS``). Mutations are
applied to a copy of the tree in a temporary directory (the files git tracks plus the untracked ones it
does not ignore), never to the checkout, and the copy is deleted on exit, Ctrl-C included. Before the
mutations of an engine its tests run once unmutated: a failure there is reported and that engine is not
scored (a mutation "caught" by an already failing test proves nothing). ``CI=1`` is set for every run,
so a live target that does not answer fails the baseline instead of skipping the tests that would catch
mutations.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINES = ("mysql", "postgresql", "sqlserver", "oracle")
DEFAULT_FILE = "instances/adapters/{engine}/sql.py"


@dataclass(frozen=True)
class Mutation:
    engine: str
    description: str
    original: str
    replacement: str
    path: str  # relative to the repository root

    @property
    def label(self) -> str:
        return f"{self.engine}: {self.description}"


@dataclass(frozen=True)
class Outcome:
    mutation: Mutation
    # "caught", "survived" or "error" (pytest neither passed nor failed: usage, collection)
    status: str
    seconds: float
    detail: str


def load(engine: str) -> tuple[list[Mutation], list[str]]:
    """The mutations and test node ids of one engine; each mutation is ``(description, original,
    replacement)`` on the engine's sql.py, or ``(…, path)`` on another file of the adapter (a version
    gate in features.py). The tests are the module's ``TESTS``."""
    module = importlib.import_module(f"tests.mutation.catalog_{engine}")
    mutations = []
    for entry in module.MUTATIONS:
        description, original, replacement, *rest = entry
        path = rest[0] if rest else DEFAULT_FILE.format(engine=engine)
        mutations.append(Mutation(engine, description, original, replacement, path))
    return mutations, list(module.TESTS)


def copy_tree(destination: Path) -> None:
    """The checkout as git sees it (tracked + untracked, not ignored), and the virtualenv linked."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = ROOT / name
        if not source.is_file():  # deleted in the working tree, not yet committed
            continue
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    (destination / ".venv").symlink_to(ROOT / ".venv")


def run_tests(tree: Path, tests: list[str], timeout: float) -> tuple[int, str]:
    env = {**os.environ, "CI": "1", "DJANGO_SETTINGS_MODULE": "whalefall.settings_test", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("DATABASE_URL", None)  # each run starts its own embedded metadata database
    command = [str(ROOT / ".venv/bin/python"), "-m", "pytest", *tests, "-x", "-q", "-p", "no:cacheprovider",
               "--no-header", "-o", "addopts="]  # fmt: skip
    process = subprocess.Popen(command, cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except BaseException as stopped:  # timeout, Ctrl-C, kill: pytest is interrupted so that its teardown
        process.send_signal(signal.SIGINT)  # drops the live objects and stops its metadata server
        try:
            process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
        if isinstance(stopped, subprocess.TimeoutExpired):
            return -1, f"timed out after {timeout:.0f} s"
        raise
    lines = [line for line in stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    summary = stdout.strip().splitlines()[-1:] if stdout.strip() else [stderr.strip()[-300:]]
    return process.returncode, (lines[0] if lines else " ".join(summary))[:300]


def apply(tree: Path, mutation: Mutation) -> str:
    """Write the mutated file into the copy; returns the original text to restore."""
    path = tree / mutation.path
    text = path.read_text()
    count = text.count(mutation.original)
    if count != 1:
        raise SystemExit(f"{mutation.label}: the original occurs {count} times in {mutation.path}")
    path.write_text(text.replace(mutation.original, mutation.replacement))
    compile(path.read_text(), str(path), "exec")  # a mutation must change the SQL, not break Python
    return text


def plan(engines: list[str], only: list[str] | None = None) -> list[tuple[str, list[Mutation], list[str]]]:
    """Per engine: its mutations (those whose description contains one of ``only``, if given) and its tests."""
    steps = []
    for engine in engines:
        mutations, tests = load(engine)
        mutations = [m for m in mutations if not only or any(o.lower() in m.description.lower() for o in only)]
        if mutations:
            steps.append((engine, mutations, tests))
    return steps


def run(steps: list[tuple[str, list[Mutation], list[str]]], *, timeout: float = 300.0, baseline: bool = True,
        out=sys.stdout) -> dict[str, list[Outcome]]:  # fmt: skip
    """Each mutation of each step applied alone to one copy of the tree (restored after each run), its
    step's tests run with ``-x``; the copy is deleted however this ends."""
    results: dict[str, list[Outcome]] = {}
    with tempfile.TemporaryDirectory(prefix="wf-mutate-") as tmp:
        tree = Path(tmp)
        copy_tree(tree)
        for engine, mutations, tests in steps:
            if baseline:
                started = time.monotonic()
                rc, detail = run_tests(tree, tests, timeout)
                print(f"== {engine}: baseline ({len(tests)} test paths) rc={rc} in {time.monotonic() - started:.0f} s",
                      file=out, flush=True)  # fmt: skip
                if rc != 0:
                    print(f"   the unmutated tests fail, {engine} is not scored: {detail}", file=out, flush=True)
                    results[engine] = []
                    continue
            outcomes = results.setdefault(engine, [])
            for mutation in mutations:
                original = apply(tree, mutation)
                started = time.monotonic()
                try:
                    rc, detail = run_tests(tree, tests, timeout)
                finally:
                    (tree / mutation.path).write_text(original)
                status = {0: "survived", 1: "caught"}.get(rc, "error")
                outcome = Outcome(mutation, status, time.monotonic() - started, detail)
                outcomes.append(outcome)
                shown = f"\n            ↳ {detail}"  # a survivor's: pytest's summary (passed, skipped)
                print(f"   {status:8} {outcome.seconds:5.1f} s  {mutation.description}{shown}", file=out, flush=True)
    return results


def report(results: dict[str, list[Outcome]], minimum: float, out=sys.stdout) -> bool:
    """Prints the score per engine and every survivor; True when every scored engine reaches ``minimum`` %."""
    ok = True
    print("\n== score", file=out)
    for engine, outcomes in results.items():
        if not outcomes:
            print(f"{engine:11} not scored (the unmutated tests fail)", file=out)
            ok = False
            continue
        caught = sum(o.status == "caught" for o in outcomes)
        score = 100 * caught / len(outcomes)
        ok &= score >= minimum
        print(f"{engine:11} {caught}/{len(outcomes)} caught ({score:.0f} %), "
              f"{sum(o.seconds for o in outcomes):.0f} s", file=out)  # fmt: skip
    survivors = [o for outcomes in results.values() for o in outcomes if o.status != "caught"]
    print("\n== survivors" + ("" if survivors else ": none"), file=out)
    for outcome in survivors:
        print(f"{outcome.status:8} {outcome.mutation.label}" + (
            f" ({outcome.detail})" if outcome.status == "error" else ""), file=out)  # fmt: skip
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bin/mutate-catalog-sql", description=__doc__.split("\n\n")[0])
    parser.add_argument("engines", nargs="*", metavar="ENGINE", help=f"of {', '.join(ENGINES)} (default: all)")
    parser.add_argument("--only", action="append", help="only the mutations whose description contains this text")
    parser.add_argument("--list", action="store_true", help="list the mutations and the tests, run nothing")
    parser.add_argument("--min-score", type=float, default=90.0, help="exit 1 below this %% on any engine (90)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per test run (300)")
    args = parser.parse_args(argv)
    engines = list(args.engines) or list(ENGINES)
    if unknown := set(engines) - set(ENGINES):
        parser.error(f"unknown engine(s): {', '.join(sorted(unknown))}")
    if args.list:
        for engine in engines:
            mutations, tests = load(engine)
            print(f"== {engine}: {len(mutations)} mutations; tests: {' '.join(tests)}")
            for mutation in mutations:
                where = "" if mutation.path.endswith("/sql.py") else f" [{mutation.path}]"
                print(f"   {mutation.description}{where}")
        return 0
    # Ctrl-C and kill end the run through the ``with`` blocks: the test run is killed, the copy deleted (a
    # shell's background job inherits SIGINT ignored, so the default handler is set again).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    results = run(plan(engines, args.only), timeout=args.timeout)
    ok = report(results, args.min_score)
    print(f"\n{sum(map(len, results.values()))} mutations in {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
