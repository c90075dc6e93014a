"""docs/architecture.md's map of contexts is the tree: every module, and every context a context uses."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\| `services/(?P<context>[a-z_]+)/` \| (?P<modules>[^|]+) \| (?P<uses>[^|]+) \|$", re.M)


def _documented() -> dict[str, tuple[set[str], set[str]]]:
    text = (ROOT / "docs" / "architecture.md").read_text()
    return {
        m["context"]: (
            set(re.findall(r"`([a-z_]+)`", m["modules"])),
            {u.strip() for u in m["uses"].split(",") if u.strip() not in ("", "—")},
        )
        for m in ROW.finditer(text)
    }


def _tree() -> dict[str, tuple[set[str], set[str]]]:
    found = {}
    for package in sorted((ROOT / "services").iterdir()):
        if not (package / "__init__.py").exists():
            continue
        modules = {p.stem for p in package.glob("*.py") if p.stem != "__init__"}
        uses = set()
        for path in package.glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("services."):
                    uses.add(node.module.split(".")[1])
        found[package.name] = (modules, uses - {package.name})
    return found


def test_the_map_lists_every_context_module_and_dependency():
    assert _documented() == _tree()


def test_no_context_is_one_room_again():
    for context, (modules, _) in _tree().items():
        assert len(modules) <= 15, f"services/{context}/ holds {len(modules)} modules"
