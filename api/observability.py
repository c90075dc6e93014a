"""Request ids, structured (JSON) logs and Prometheus metrics.

Every request gets an id (the caller's `X-Request-Id` or a new one), returned in the response and
attached to every log line written while serving it. `/metrics` exposes request latency, payment
callback failures, orders by state and pool availability; under gunicorn with several workers set
`PROMETHEUS_MULTIPROC_DIR` so that the counters of all workers are summed.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
import uuid
from collections.abc import Iterator

from flask import Flask, Response, abort, g, has_request_context, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from pythonjsonlogger.json import JsonFormatter

from services.reporting import metrics_queries

REQUEST_LATENCY = Histogram(
    "carbon_http_request_duration_seconds", "Request latency", ["method", "endpoint", "status"]
)
CALLBACK_FAILURES = Counter(
    "carbon_payment_callback_failures_total",
    "Payment or refund callbacks refused or not processed",
    ["kind", "reason"],
)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def configure_logging(level: str, json_logs: bool) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    if json_logs:
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"))
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)


class DatabaseCollector:
    """Figures read from the database at scrape time: orders by state, pool availability by kind."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        orders = GaugeMetricFamily("carbon_orders", "Orders by state", labels=["status"])
        for status, count in metrics_queries.orders_by_status():
            orders.add_metric([status], count)
        yield orders
        pool = GaugeMetricFamily(
            "carbon_pool_grams", "Pool grams by credit kind and state", labels=["kind", "state"]
        )
        for kind, available, reserved, sold, retired in metrics_queries.pool_by_kind():
            for state, grams in (
                ("available", available),
                ("reserved", reserved),
                ("sold", sold),
                ("retired", retired),
            ):
                pool.add_metric([kind, state], grams)
        yield pool


FORWARDING_HEADERS = ("X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "X-Real-Ip")


def _local_direct_scrape() -> bool:
    """Whether this request came from this host itself, not relayed by a (local) reverse proxy."""
    peer = request.environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR", request.remote_addr)
    return peer in ("127.0.0.1", "::1") and not any(h in request.headers for h in FORWARDING_HEADERS)


def init_app(app: Flask) -> None:
    configure_logging(app.config["LOG_LEVEL"], app.config["LOG_JSON"])

    @app.before_request
    def _start() -> None:
        g.request_id = (request.headers.get("X-Request-Id") or uuid.uuid4().hex)[:64]
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        if "started" in g:
            REQUEST_LATENCY.labels(
                request.method, request.endpoint or "unmatched", response.status_code
            ).observe(time.perf_counter() - g.started)
        return response

    @app.route("/metrics")
    def metrics() -> Response:
        token = app.config["METRICS_TOKEN"]
        if token:
            given = request.headers.get("Authorization", "").encode("utf-8", "replace")
            if not hmac.compare_digest(given, f"Bearer {token}".encode()):
                abort(401)
        elif not _local_direct_scrape():
            abort(403)
        registry = CollectorRegistry()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            MultiProcessCollector(registry)
        else:
            registry.register(REQUEST_LATENCY)
            registry.register(CALLBACK_FAILURES)
        registry.register(DatabaseCollector())
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
