"""Request ids, JSON logs and the Prometheus metrics endpoint."""

import json
import logging

import pytest

from tests.support.accounts import bearer, login_user
from tests.support.pool import stock_pool


def test_request_id_is_echoed_or_made(client):
    assert (
        client.get("/health/live", headers={"X-Request-Id": "abc-123"}).headers["X-Request-Id"] == "abc-123"
    )
    assert len(client.get("/health/live").headers["X-Request-Id"]) == 32


def test_json_logs_carry_the_request_id(app, client, capsys):
    from api.observability import configure_logging

    configure_logging("INFO", json_logs=True)

    @app.route("/_log_probe")
    def probe():
        logging.getLogger("probe").info("hello")
        return "ok"

    client.get("/_log_probe", headers={"X-Request-Id": "req-42"})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert {"message": "hello", "request_id": "req-42"}.items() <= lines[-1].items()


def test_metrics_show_latency_orders_and_pool(client):
    stock_pool()
    token, _ = login_user(client, "metrics-buyer")
    client.post("/api/v1/orders", json={"product": "one_yuan", "units": 2}, headers=bearer(token))
    body = client.get("/metrics").get_data(as_text=True)
    assert 'carbon_orders{status="awaiting_payment"} 1.0' in body
    assert 'carbon_pool_grams{kind="FFCER",state="reserved"} 20000.0' in body
    assert "carbon_http_request_duration_seconds_bucket" in body


def test_metrics_refuse_remote_scrapes_without_the_token(client):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 403


class TestMetricsToken:
    @pytest.fixture
    def app_overrides(self):
        return {"METRICS_TOKEN": "scrape-secret"}

    def test_token_required(self, client):
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers=bearer("scrape-secret")).status_code == 200
