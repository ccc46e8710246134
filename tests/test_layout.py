"""The gateway runs without the simulators: they (and sqlglot, the `sim` extra) load only for `--demo`."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = (
    "import sys, {module}; "
    "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('simulators', 'sqlglot')); "
    "assert not loaded, loaded"
)


@pytest.mark.parametrize("module", ["opsgraph.gateway.app", "opsgraph.gateway.demo", "opsgraph.cli"])
def test_gateway_imports_no_simulator(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK.format(module=module)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_demo_entry_point_imports_the_simulators() -> None:
    """The other side: `simulator_base_url` (used by `--demo`) does load them, from their own package."""
    code = (
        "import sys; from opsgraph.gateway.settings import simulator_base_url; "
        "from opsgraph.model import SourceName; "
        "print(simulator_base_url(SourceName.NETSUITE, 'http://127.0.0.1:1')); "
        "print(sorted(m for m in sys.modules if m.startswith('simulators.netsuite')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    url, modules = done.stdout.splitlines()
    assert url.startswith("http://127.0.0.1:1")
    assert "simulators.netsuite.simulator" in modules
