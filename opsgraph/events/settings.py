"""`[events]` settings: change polling (`OPSGRAPH_EVENTS__POLL`, `__INTERVAL_S`, `__INTERVALS`) and
webhooks (`__WEBHOOK_BASE_URL`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class EventSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    poll: bool = Field(True, description="poll every system for changes while the gateway runs")
    interval_s: float = Field(30.0, gt=0, description="seconds between two polls of a system")
    intervals: dict[str, float] = Field(
        default_factory=dict, description="per system name: its own interval (a vendor's rate limit)"
    )
    keep_alive_s: float = Field(
        15.0,
        gt=0,
        description="seconds between keep-alive pings on a subscription's connection (all transports)",
    )
    webhook_base_url: str | None = Field(
        None,
        description="the public origin vendors post webhooks to (behind a proxy), as their signatures "
        "cover it; none: the URL as the request arrived",
    )

    @field_validator("intervals")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        bad = sorted(name for name, seconds in value.items() if seconds <= 0)
        if bad:
            raise ValueError(f"intervals must be positive: {', '.join(bad)}")
        return value

    def interval_for(self, system: str) -> float:
        return self.intervals.get(system, self.interval_s)
