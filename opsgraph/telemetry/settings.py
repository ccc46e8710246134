"""Telemetry settings (`[telemetry]`, env `OPSGRAPH_TELEMETRY__*`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["TelemetrySettings"]


class TelemetrySettings(BaseModel):
    """Where spans go and how logs look.

    `otlp_endpoint` (for example `http://otel-collector:4318`) turns on OTLP/HTTP export; without it
    the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) does; with neither, spans
    are made for the correlation of logs but exported nowhere. The other `OTEL_*` variables
    (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_EXPORTER_OTLP_HEADERS`, ...) apply as usual.
    """

    model_config = ConfigDict(extra="forbid")

    otlp_endpoint: str | None = None
    service_name: str = "opsgraph"
    log_format: Literal["json", "text"] = "json"
    business_metrics_interval_s: float | None = Field(
        None, gt=0, description="how often the business metrics are computed; None: never (off)"
    )
