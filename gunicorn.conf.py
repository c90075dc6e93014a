"""gunicorn settings, sized from the CPU count; each can be overridden by a GUNICORN_* variable."""

import gc
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 1))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 20
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 10000))
max_requests_jitter = 500
accesslog = os.environ.get("GUNICORN_ACCESSLOG", None)
errorlog = "-"


def post_worker_init(worker):
    """The app is loaded: tune the collector; in the embedded default, start the in-process jobs."""
    # Everything loaded so far lives as long as the worker: keep it out of every collection, and
    # collect the young generation less often (a request allocates thousands of short-lived objects).
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
    app = worker.wsgi
    config = getattr(app, "config", {})
    if config.get("INPROCESS_JOBS") and not config.get("REDIS_URL"):
        from worker import inprocess

        inprocess.start(app)


def child_exit(server, worker):
    """Let Prometheus' multiprocess mode forget a dead worker's live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
