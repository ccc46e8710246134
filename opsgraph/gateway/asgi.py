"""The gateway for an ASGI server's own command line, e.g. several workers in one container:

    PROMETHEUS_MULTIPROC_DIR=/tmp/metrics uvicorn --factory opsgraph.gateway.asgi:app --workers 4

Each worker calls `app()`: settings from the environment (`OPSGRAPH_*`, `OPSGRAPH_CONFIG_FILE`), JSON
logs, then the app. `opsgraph serve` is the one-process way to run it.
"""

from __future__ import annotations

from starlette.applications import Starlette

__all__ = ["app"]


def app() -> Starlette:
    from opsgraph.gateway.app import create_app
    from opsgraph.gateway.settings import load_settings
    from opsgraph.telemetry import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level, settings.telemetry.log_format)
    return create_app(settings)
