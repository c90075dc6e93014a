"""`python -m api.openapi_snapshot`: write the served OpenAPI description to `docs/openapi.json`.

The file is the API's contract as published; `tests/api/test_openapi_snapshot.py` checks that the
service serves exactly these bytes, so any change to the API shows as a diff of this file. The
mini-program client's types (`clients/miniprogram/src/`) are generated from it again too.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SNAPSHOT = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"
CLIENT = SNAPSHOT.parents[1] / "clients" / "miniprogram"


def served() -> bytes:
    """The bytes of `/api/openapi.json` as the service answers them (testing profile, no database)."""
    from api import create_app

    app = create_app("testing", overrides={"DATABASE_URL": "sqlite://"})
    return app.test_client().get("/api/openapi.json").get_data()


def regenerate_client_types() -> str:
    """Generate the mini-program client's types from the snapshot; says what was done."""
    node = shutil.which("node")
    if node is None or not (CLIENT / "node_modules" / "openapi-typescript").is_dir():
        return "client types not generated (no Node.js or no packages: run bin/setup, then npm run generate)"
    subprocess.run([node, "scripts/generate.js"], cwd=CLIENT, check=True)
    return "generated clients/miniprogram/src/schema.d.ts and idempotent-posts.ts"


if __name__ == "__main__":
    SNAPSHOT.write_bytes(served())
    print(f"wrote {SNAPSHOT.name} ({SNAPSHOT.stat().st_size} bytes)")
    print(regenerate_client_types())
