"""The process's tracer provider and its exporter.

Spans are made at four levels, never one per field: the HTTP server span (the Starlette
instrumentation), the GraphQL operation (`operation.py`), each loader batch or listing read
(`resolvers/reads.py`) and each upstream call (`connectors/base.py`, which also sends the W3C
`traceparent` upstream). The global provider can be set once per process, so a second call
reuses the SDK provider already installed and only adds an exporter to it.
"""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from opsgraph.telemetry.settings import TelemetrySettings

__all__ = ["configure_tracing", "install_tracer_provider", "otlp_traces_endpoint"]

_OTEL_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
_OTEL_TRACES_ENDPOINT = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"


def install_tracer_provider(service_name: str = "opsgraph") -> TracerProvider:
    """The process's SDK tracer provider, installed as the global one on first use."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service_name}
    provider = TracerProvider(resource=Resource.create(attributes))
    trace.set_tracer_provider(provider)
    return provider


def otlp_traces_endpoint(settings: TelemetrySettings) -> str | None:
    """The OTLP/HTTP traces URL: the setting, else the standard variables; None exports nothing."""
    if settings.otlp_endpoint:
        return settings.otlp_endpoint.rstrip("/") + "/v1/traces"
    if os.environ.get(_OTEL_TRACES_ENDPOINT):
        return os.environ[_OTEL_TRACES_ENDPOINT]
    if os.environ.get(_OTEL_ENDPOINT):
        return os.environ[_OTEL_ENDPOINT].rstrip("/") + "/v1/traces"
    return None


def configure_tracing(settings: TelemetrySettings) -> SpanProcessor | None:
    """Install the provider and, when an endpoint is configured, a batching OTLP/HTTP exporter.

    Returns the exporting processor (to flush at shutdown), or None when nothing is exported.
    """
    provider = install_tracer_provider(settings.service_name)
    endpoint = otlp_traces_endpoint(settings)
    if endpoint is None:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint))
    provider.add_span_processor(processor)
    return processor
