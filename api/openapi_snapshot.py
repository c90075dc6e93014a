"""`python -m api.openapi_snapshot`: write the served OpenAPI description to `docs/openapi.json`.

The file is the API's contract as published; `tests/api/test_openapi_snapshot.py` checks that the
service serves exactly these bytes, so any change to the API shows as a diff of this file.
"""

from __future__ import annotations

from pathlib import Path

SNAPSHOT = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"


def served() -> bytes:
    """The bytes of `/api/openapi.json` as the service answers them (testing profile, no database)."""
    from api import create_app

    app = create_app("testing", overrides={"DATABASE_URL": "sqlite://"})
    return app.test_client().get("/api/openapi.json").get_data()


if __name__ == "__main__":
    SNAPSHOT.write_bytes(served())
    print(f"wrote {SNAPSHOT.name} ({SNAPSHOT.stat().st_size} bytes)")
