"""The test suite itself does not depend on when, or how long, it runs.

A time read while tests are collected (in a module body, a `parametrize` list, a default argument)
is stale by the time a slow run reaches the test: a "future" callback timestamp computed so fell
inside the accepted window on a long run. Tests take their times when they run; the fakes take
relative ones (`age_s`). And no test starts within reach of Beijing midnight, where the service's
"today" changes.
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

from tests.support.clock import seconds_to_beijing_midnight, wait_out_beijing_midnight

TESTS = Path(__file__).resolve().parents[1]
CLOCK_CALLS = {"time", "now", "utcnow", "today", "monotonic", "perf_counter", "time_ns"}


def _called_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _clock_reads(node: ast.AST):
    """Clock calls evaluated when `node` is; a lambda or function body runs later, so is skipped."""
    if isinstance(node, ast.Lambda | ast.FunctionDef | ast.AsyncFunctionDef):
        return
    if isinstance(node, ast.Call) and _called_name(node) in CLOCK_CALLS:
        yield node
    for child in ast.iter_child_nodes(node):
        yield from _clock_reads(child)


def _evaluated_at_collection(body: list[ast.stmt]):
    for statement in body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = statement.args
            for part in [*statement.decorator_list, *arguments.defaults, *arguments.kw_defaults]:
                if part is not None:
                    yield from _clock_reads(part)
        elif isinstance(statement, ast.ClassDef):
            for decorator in statement.decorator_list:
                yield from _clock_reads(decorator)
            yield from _evaluated_at_collection(statement.body)
        else:
            yield from _clock_reads(statement)


def test_no_test_reads_the_clock_while_it_is_collected():
    found = [
        f"{path.relative_to(TESTS)}:{call.lineno}"
        for path in sorted(TESTS.rglob("*.py"))
        for call in _evaluated_at_collection(ast.parse(path.read_text(encoding="utf-8")).body)
    ]
    assert found == []


def test_the_scan_finds_a_timestamp_computed_in_parametrize():
    source = (
        "import time, pytest\n"
        "@pytest.mark.parametrize('ts', [int(time.time()) + 600])\n"
        "def test_x(ts): pass\n"
        "STARTED = datetime.now(UTC)\n"
        "def later(): return time.time()\n"
    )
    assert [call.lineno for call in _evaluated_at_collection(ast.parse(source).body)] == [2, 4]


def test_tests_wait_out_the_last_minutes_of_a_beijing_day():
    before = datetime(2026, 12, 2, 15, 59, 0, tzinfo=UTC)  # 23:59:00 in Beijing
    assert seconds_to_beijing_midnight(before) == 60
    assert seconds_to_beijing_midnight(datetime(2026, 12, 2, 16, 0, 0, tzinfo=UTC)) == 86_400
    slept: list[float] = []
    assert wait_out_beijing_midnight(120, now=lambda: before, sleep=slept.append) == 61
    assert slept == [61]
    noon = datetime(2026, 12, 2, 4, 0, 0, tzinfo=UTC)
    assert wait_out_beijing_midnight(120, now=lambda: noon, sleep=slept.append) == 0 and slept == [61]
