"""Running the Node scripts in `tests/js/` (their packages: `make` runs `npm ci` there, see the Makefile).

Without `node` or the installed packages a test skips, except under `CI=true`, where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

JS = Path(__file__).resolve().parent / "js"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (required under CI=true; `make` installs tests/js with npm ci)")
    pytest.skip(reason)


def run_node(script: str, payload: Any, *, timeout_s: float = 60) -> Any:
    """Run `tests/js/<script>` with `payload` as JSON on stdin; its JSON output."""
    node = shutil.which("node")
    if node is None:
        _unavailable("node is not installed")
    if not (JS / "node_modules").is_dir():
        _unavailable("tests/js/node_modules is missing: run `make` (npm ci)")
    done = subprocess.run(
        [str(node), str(JS / script)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        cwd=JS,
        timeout=timeout_s,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
