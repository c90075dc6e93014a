"""Render the settings as the Markdown table in README.md: `python -m config.settings_table --write`."""

from __future__ import annotations

import sys
from pathlib import Path

from config import SETTINGS

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- settings-table:start -->", "<!-- settings-table:end -->"


def render() -> str:
    rows = ["| setting | default | what it does |", "|---|---|---|"]
    for setting in SETTINGS:
        default = "(empty)" if setting.default == "" else setting.default
        rows.append(f"| `{setting.name}` | `{default}` | {setting.help} |")
    return "\n".join(rows)


def rewrite(text: str) -> str:
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{render()}\n{END}{tail}"


if __name__ == "__main__":
    current = README.read_text(encoding="utf-8")
    if "--write" in sys.argv:
        README.write_text(rewrite(current), encoding="utf-8")
    else:
        print(render())
