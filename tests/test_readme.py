"""The README's grant blocks are the ones the live tests prove (docs/adapters.md)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def sql_blocks(text: str) -> list[str]:
    return [block.strip() for block in re.findall(r"```sql\n(.*?)```", text, re.S)]


def test_readme_grants_match_the_tested_grants():
    docs = (ROOT / "docs" / "adapters.md").read_text()
    readme = (ROOT / "README.md").read_text()
    for engine in ("mariadb", "postgresql"):
        tested = re.search(rf"<!-- grants:{engine} -->\s*```sql\n(.*?)```", docs, re.S).group(1).strip()
        assert tested in sql_blocks(readme), f"README's {engine} grants differ from docs/adapters.md"


def test_readme_starts_with_the_two_commands():
    lines = [line for line in (ROOT / "README.md").read_text().splitlines() if line.strip()]
    assert lines[1] == "```bash"
    assert lines[2].startswith("bash bin/start") and lines[3].startswith("bash bin/test")
    assert lines[4] == "```"
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("exec bash bin/test")
