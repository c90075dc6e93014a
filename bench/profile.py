"""Where a running service's time goes: py-spy samples its gunicorn workers under load.

`sample(pid, seconds)` records every worker of the gunicorn master `pid` with py-spy (a sampling
profiler that reads the workers from outside, so the workers run unchanged) and `summary(stacks)`
reduces the collapsed stacks to the frames with the largest share of samples, by own time and by
time including callees. `python -m bench.purchase --driver wrk --profile` prints both for the
project's reference endpoint and for order creation.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[1]) + "/"
PROJECT = ("services/", "payments/", "models/", "bootstrap/")


@dataclass(frozen=True)
class Profile:
    samples: int
    own: list[tuple[str, float]]  # (frame, share of samples spent in the frame itself)
    inclusive: list[tuple[str, float]]  # (frame, share of samples with the frame on the stack)
    project: list[tuple[str, float]]  # the same, for the project's own frames (services, payments, models)


def py_spy() -> str | None:
    """The py-spy executable next to this Python, or on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def start(pid: int, seconds: float, rate: int = 100) -> tuple[subprocess.Popen, Path]:
    """Start recording the workers of gunicorn master `pid` for `seconds`; returns the recorder and its output."""
    executable = py_spy()
    if executable is None:
        raise RuntimeError("py-spy is not installed (pip install py-spy)")
    _descriptor, name = tempfile.mkstemp(prefix="py-spy-", suffix=".txt")
    Path(name).unlink()
    args = [executable, "record", "--pid", str(pid), "--subprocesses", "--nonblocking", "--rate", str(rate)]
    args += ["--duration", str(max(1, round(seconds))), "--format", "raw", "--output", name]
    recorder = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return recorder, Path(name)


def finish(recorder: subprocess.Popen, output: Path, top: int = 12) -> Profile:
    recorder.wait(timeout=120)
    try:
        return summary(output.read_text(errors="replace").splitlines(), top)
    finally:
        output.unlink(missing_ok=True)


def summary(collapsed: list[str], top: int = 12) -> Profile:
    """Reduce py-spy's collapsed stacks (`frame;frame;frame count`) to the heaviest frames.

    The master process and idle workers (waiting in `accept`/`select`) are left out: the shares are
    of the time the workers spent serving requests.
    """
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed:
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_short(frame) for frame in stack.split(";")]
        if not any("handle_request" in frame for frame in frames):
            continue
        weight = int(count)
        total += weight
        own[frames[-1]] += weight
        for frame in set(frames):
            inclusive[frame] += weight
    if not total:
        return Profile(0, [], [], [])
    ranked = [(frame, round(n / total, 3)) for frame, n in inclusive.most_common() if n < total]
    own_code = [(frame, share) for frame, share in ranked if frame.partition(" (")[2].startswith(PROJECT)]
    return Profile(
        total,
        [(frame, round(n / total, 3)) for frame, n in own.most_common(top)],
        ranked[:top],
        own_code[: top * 2],
    )


def _short(frame: str) -> str:
    """`handle (gunicorn/workers/sync.py:135)` → `handle (gunicorn/workers/sync.py)`; paths made relative."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path = where.rsplit(":", 1)[0]
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif path.startswith(ROOT):
        path = path[len(ROOT) :]
    elif "/lib/python3." in path:
        path = path.split("/lib/python3.", 1)[1].partition("/")[2]
    return f"{name} ({path})" if path else name


def print_profile(title: str, profile: Profile) -> None:
    print(f"profile of {title}: {profile.samples} samples in request handling")
    print("  own time:")
    for frame, share in profile.own:
        print(f"    {share:6.1%}  {frame}")
    print("  including callees:")
    for frame, share in profile.inclusive:
        print(f"    {share:6.1%}  {frame}")
    print("  the project's own frames, including callees:")
    for frame, share in profile.project:
        print(f"    {share:6.1%}  {frame}")
