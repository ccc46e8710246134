"""The layout rules of ARCHITECTURE section 1.

- The gateway runs without the simulators: they (and sqlglot, the `sim` extra) load only for `--demo`.
- Above the connectors, nothing names a vendor: resolvers, schema, cache, gateway, money and context
  speak of roles and configured systems. The one exception is the schema's deprecated-fields module.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECK = (
    "import sys, {module}; "
    "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('simulators', 'sqlglot')); "
    "assert not loaded, loaded"
)

VENDORS = re.compile(
    r"salesforce|hubspot|harvest|bamboo|netsuite|kantata|bigtime|\btempo\b|certinia|\bworkday\b|intacct"
    r"|\bsap\b|\boracle\b|\bdynamics\b|soql|suiteql|sobject",
    re.IGNORECASE,
)
"""The vendors of ARCHITECTURE section 2 (and their query languages), as they appear in code."""
VENDOR_FREE = ["opsgraph/resolvers", "opsgraph/schema", "opsgraph/cache", "opsgraph/gateway"]
VENDOR_FREE_FILES = ["opsgraph/money.py", "opsgraph/context.py"]
ALLOWED = {"opsgraph/schema/types/deprecated.py"}
"""The deprecated vendor-named fields, for one release (its docstring says when it goes)."""


@pytest.mark.parametrize("module", ["opsgraph.gateway.app", "opsgraph.gateway.demo", "opsgraph.cli"])
def test_gateway_imports_no_simulator(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK.format(module=module)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_a_vendors_simulator_loads_from_its_own_package_on_demand() -> None:
    """The other side: what `--demo` uses loads a vendor's simulator only when asked for it."""
    code = (
        "import sys; from simulators.simkit.serve import simulator_info; "
        "print(simulator_info('netsuite').connector_base_url('http://127.0.0.1:1')); "
        "print(sorted(m for m in sys.modules if m.startswith('simulators.netsuite')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    url, modules = done.stdout.splitlines()
    assert url.startswith("http://127.0.0.1:1/")
    assert "simulators.netsuite.simulator" in modules


def _python_files() -> list[Path]:
    files = [p for d in VENDOR_FREE for p in sorted((ROOT / d).rglob("*.py"))]
    return files + [ROOT / f for f in VENDOR_FREE_FILES]


def test_no_vendor_name_above_the_connectors() -> None:
    found = []
    for path in _python_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel in ALLOWED:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if VENDORS.search(line):
                found.append(f"{rel}:{number}: {line.strip()}")
    assert not found, "vendor names above the connectors:\n" + "\n".join(found)


def test_the_deprecated_module_says_when_it_goes() -> None:
    from opsgraph.schema.types import deprecated

    doc = deprecated.__doc__ or ""
    assert "one place in the schema that names vendors" in doc
    assert "deleted in the release after" in doc
