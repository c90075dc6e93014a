"""The embedded default's job runner: a daemon thread in the web process runs the schedule.

Without a Redis server there is no queue to share, so the single demo process runs its own jobs.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask

from api.context import RUNTIME_KEY
from worker.schedule import SCHEDULE, resolve

log = logging.getLogger(__name__)
TICK_S = 5


def start(app: Flask) -> threading.Thread:
    """Run every scheduled job at its interval (first run after one interval) until the process ends."""

    from worker import tasks

    tasks.use(app.extensions[RUNTIME_KEY])

    def loop() -> None:
        due = {job.name: time.monotonic() + job.interval_s for job in SCHEDULE}
        while True:
            time.sleep(TICK_S)
            for job in SCHEDULE:
                if time.monotonic() < due[job.name]:
                    continue
                due[job.name] = time.monotonic() + job.interval_s
                try:
                    with app.app_context():
                        resolve(job.task).__wrapped__()
                except Exception:
                    log.exception("in-process job %s failed", job.name)
                finally:
                    from models.database import db_session

                    db_session.remove()

    thread = threading.Thread(target=loop, name="carbon-jobs", daemon=True)
    thread.start()
    return thread
