"""Telemetry: traces (OpenTelemetry), structured JSON logs, and the per-request record both read."""

from opsgraph.telemetry.logs import configure_logging
from opsgraph.telemetry.operation import OperationSpan
from opsgraph.telemetry.record import RequestRecord, current_record
from opsgraph.telemetry.settings import TelemetrySettings
from opsgraph.telemetry.tracing import configure_tracing, install_tracer_provider

__all__ = [
    "OperationSpan",
    "RequestRecord",
    "TelemetrySettings",
    "configure_logging",
    "configure_tracing",
    "current_record",
    "install_tracer_provider",
]
