"""TTL policy per entity type; read from settings as `OPSGRAPH_CACHE__...`."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_TTLS: Mapping[str, float] = {
    # reference data: hours
    "client": 3600,
    "resource": 3600,
    "psa_user": 3600,
    "customer": 3600,
    "period": 3600,
    "exchange_rate": 3600,
    # delivery structure: minutes
    "engagement": 900,
    "assignment": 900,
    "job": 900,
    "time_off": 900,
    "opportunity": 300,
    # lookups by a join key and child lists, named after what they hold
    "client_opportunities": 300,
    "opportunity_by_code": 300,
    "job_by_code": 900,
    "customer_by_client": 3600,
    "customer_invoices": 120,
    "job_invoices": 120,
    # money: a couple of minutes
    "invoice": 120,
    # time: seconds
    "time_entry": 30,
    "time_posting": 30,
}
"""TTL in seconds per cached entity: the canonical entity names the loaders read under."""


def normalise_entity(entity: str) -> str:
    """`TimeEntry`, `time_entry`, `time-entry` and `timeentry` name the same entity type."""
    return entity.strip().lower().replace("_", "").replace("-", "")


class CachePolicy(BaseModel):
    """How long each entity type stays fresh, and how long past that it may still be served."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    default_ttl_s: float = Field(300.0, gt=0, description="TTL of an entity type not listed in `ttls`")
    stale_grace_s: float = Field(
        600.0, ge=0, description="How long past its TTL a value may still be served while its source is down"
    )
    ttls: dict[str, float] = Field(
        default_factory=dict,
        validate_default=True,
        description="TTL in seconds per entity type; entries given here override the built-in defaults",
    )
    lock_ttl_s: float = Field(
        5.0,
        ge=0,
        description="Distributed stampede lock lifetime (and longest wait for a peer); 0 disables it",
    )
    backend_retry_s: float = Field(
        1.0, gt=0, description="After a cache backend failure, bypass the cache this long before trying again"
    )

    @field_validator("ttls")
    @classmethod
    def _merge_defaults(cls, value: dict[str, float]) -> dict[str, float]:
        merged = {normalise_entity(k): float(v) for k, v in DEFAULT_TTLS.items()}
        for entity, ttl in value.items():
            if ttl <= 0:
                raise ValueError(f"TTL for {entity!r} must be > 0, got {ttl}")
            merged[normalise_entity(entity)] = float(ttl)
        return merged

    def ttl_for(self, entity: str) -> float:
        """Freshness in seconds of a value of this entity type."""
        return self.ttls.get(normalise_entity(entity), self.default_ttl_s)

    def lifetime_for(self, entity: str) -> float:
        """How long the backend keeps a value: its TTL plus the stale grace."""
        return self.ttl_for(entity) + self.stale_grace_s

    @property
    def max_lifetime_s(self) -> float:
        """The longest any value lives in the backend (bounds the tag index, see `tagindex`)."""
        return max([self.default_ttl_s, *self.ttls.values()]) + self.stale_grace_s
