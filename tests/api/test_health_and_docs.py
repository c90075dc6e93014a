"""The probes, the OpenAPI description and the one error format."""


def test_liveness(client):
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json["status"] == "ok"


def test_readiness_checks_database_and_redis(client):
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": "ok", "redis": "ok"}


def test_readiness_reports_a_down_redis(client, monkeypatch):
    from services.kernel import redis_store

    def broken_ping():
        raise ConnectionError("down")

    monkeypatch.setattr(redis_store.get_redis(), "ping", broken_ping)
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json["checks"]["redis"].startswith("error")


def test_openapi_json_and_ui_pages(client):
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200
    assert spec.json["openapi"].startswith("3.")
    assert "bearerAuth" in spec.json["components"]["securitySchemes"]
    page = client.get("/api/docs/swagger")
    assert page.status_code == 200
    # The UI's scripts are served by the app itself (no CDN needed).
    assert b"/api/docs/swagger-ui/swagger-ui-bundle.js" in page.data
    assert client.get("/api/docs/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert b"cdn." not in page.data and b"unpkg" not in page.data
    # No ReDoc page: its script would come from a CDN, blank offline.
    assert client.get("/api/docs/redoc").status_code == 404


def test_unknown_path_uses_the_error_format(client):
    response = client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.json["code"] == 404
    assert response.json["error"] == "not_found"
    assert response.json["message"]
