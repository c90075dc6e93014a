"""Run work in many threads released at once, each with its own database session."""

from __future__ import annotations

import threading
from collections.abc import Callable

from models.database import db_session


def run_together(target: Callable[[int], object], count: int, timeout_s: float = 120) -> list[object]:
    """Run `target(index)` in `count` threads released at once; return each outcome or exception."""
    barrier = threading.Barrier(count)
    outcomes: list[object] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait()
            outcomes[index] = target(index)
        except Exception as exc:
            outcomes[index] = exc
        finally:
            db_session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout_s)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes
