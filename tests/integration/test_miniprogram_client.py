"""The mini-program client's own tests (`npm test` in clients/miniprogram), run with the suite.

They build the TypeScript client, start the service on its embedded default on a free loopback
port and drive it through a fake `wx` (login → order → payment → certificate, retries, WeRun),
and check that the committed types are what openapi-typescript makes of the description.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from tests.conftest import ROOT

CLIENT = ROOT / "clients" / "miniprogram"


def test_the_miniprogram_clients_tests_pass():
    npm = shutil.which("npm")
    assert npm, "npm is missing: bin/setup installs Node.js and the client's packages"
    assert (CLIENT / "node_modules" / ".bin" / "tsc").exists(), (
        "the client's packages are missing: run bin/setup (npm ci in clients/miniprogram)"
    )
    env = {**os.environ, "CARBON_PYTHON": sys.executable}  # the service runs on this run's Python
    run = subprocess.run(
        [npm, "test"], cwd=CLIENT, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    tail = (run.stdout + run.stderr)[-6000:]
    assert run.returncode == 0, tail
    assert "# fail 0" in run.stdout and "# pass 0" not in run.stdout, tail
