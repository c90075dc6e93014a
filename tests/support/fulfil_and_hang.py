"""The service's WSGI app, except that fulfilling an order of `FULFIL_HANG_UNITS` units hangs.

gunicorn serves `tests.support.fulfil_and_hang:app` in the worker-kill test. Fulfilment of such an
order stops inside its transaction (the order row locked, its grams confirmed as sold, no commit
yet): the worker writes its pid to `FULFIL_HANG_PIDFILE` and sleeps until it is killed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from services.certificates import certificates
from wsgi import app

__all__ = ["app"]

HANG_UNITS = int(os.environ["FULFIL_HANG_UNITS"])
PIDFILE = Path(os.environ["FULFIL_HANG_PIDFILE"])
_issue_in = certificates.issue_in


def _issue_or_hang(session, order, *args, **kwargs):
    if order.units == HANG_UNITS:
        partial = PIDFILE.with_suffix(".partial")
        partial.write_text(str(os.getpid()))
        partial.rename(PIDFILE)  # the test never reads half a pid
        time.sleep(120)
    return _issue_in(session, order, *args, **kwargs)


certificates.issue_in = _issue_or_hang
