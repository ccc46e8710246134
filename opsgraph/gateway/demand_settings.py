"""Settings of demand control: cost budgets per role (`[cost]`), rate limits per caller
(`[rate_limit]`) and persisted queries (`[persisted_queries]`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from opsgraph.auth.caller import Caller, Role
from opsgraph.gateway.cost import CostModel

__all__ = ["CostSettings", "PersistedQuerySettings", "RateLimitSettings"]

DEFAULT_BUDGETS: dict[Role, int] = {
    Role.VIEWER: 250_000,
    Role.DELIVERY: 500_000,
    Role.FINANCE: 1_000_000,
    Role.EXECUTIVE: 1_000_000,
    Role.ADMIN: 1_000_000,
}
"""For scale: the portfolio dashboard (20 clients, their engagements' burn, readiness and
assignments) is about 14,000, a page of 500 time entries with their resource and engagement about
8,000, every client (500) with its opportunities, engagements, burn and links about 220,000; 30
aliases of 500 resources with a year of time entries each, 7.5 million."""

DEFAULT_LIST_SIZES: dict[str, int] = {
    "*.links": 3,
    "*.dataQuality": 2,
    "Engagement.timeEntries": 100,
    "Resource.timeEntries": 100,
    "TimeOffRequest.days": 10,
    "Query.invoiceReadiness": 50,
    "Query.utilization": 50,
    "Reconciliation.mismatches": 50,
    "Reconciliation.dataQuality": 50,
    "Reconciliation.timeBeforeHire": 50,
}
"""Lists without a page size whose typical length is far from `default_list_size`: a record's
links (one per system holding it), its data-quality issues (mostly none), time entries."""


class CostSettings(BaseModel):
    """The estimated cost of an operation (`gateway/cost.py`) against the caller's budget: the
    largest of its roles' budgets (the smallest for a request without a caller)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    budgets: dict[Role, int] = Field(
        default_factory=lambda: dict(DEFAULT_BUDGETS), description="per role, over the defaults"
    )
    default_list_size: int = Field(10, ge=0, description="estimated length of an unpaginated list")
    list_sizes: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_LIST_SIZES),
        description='"Type.field" -> estimated length, for lists without `first`',
    )

    def model(self) -> CostModel:
        sizes = {**DEFAULT_LIST_SIZES, **self.list_sizes}  # configured estimates over the built-in ones
        return CostModel(list_sizes=sizes, default_list_size=self.default_list_size)

    def budget_of(self, caller: Caller | None) -> int:
        budgets = {**DEFAULT_BUDGETS, **self.budgets}
        if caller is None or not caller.roles:
            return min(budgets.values())
        return max(budgets[role] for role in caller.roles)


class RateLimitSettings(BaseModel):
    """A token bucket per caller: `burst` requests at once, refilled at `per_second`."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    burst: int = Field(60, ge=1, description="requests a caller may send at once")
    per_second: float = Field(10.0, gt=0, description="requests per second a caller may sustain")
    store: Literal["memory", "redis"] = Field(
        "memory", description="redis: shared by the replicas, at `redis_url` (required then)"
    )


class PersistedQuerySettings(BaseModel):
    """Automatic persisted queries (Apollo's `persistedQuery` extension) and trusted documents."""

    model_config = ConfigDict(extra="forbid")

    apq: bool = Field(True, description="register and serve documents by SHA-256 hash")
    apq_ttl_s: int = Field(24 * 3600, ge=1, description="how long a registered document is kept")
    apq_max_bytes: int = Field(64 * 1024, ge=0, description="larger documents run but are not registered")
    trusted_documents: Path | None = Field(
        None, description="a manifest of SHA-256 hash -> document, loaded at start"
    )
    trusted_only: bool = Field(False, description="refuse any document not in the manifest")
