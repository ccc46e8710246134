"""The per-request context: loaders, derived views, correlation id, the day views are computed for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from opsgraph.cache import ReadCache
from opsgraph.resolvers.loaders import Loaders
from opsgraph.resolvers.sources import Sources
from opsgraph.resolvers.views.service import Views


@dataclass
class RequestContext:
    sources: Sources
    loaders: Loaders
    views: Views
    correlation_id: str
    today: date
    scope: str = "default"

    @classmethod
    def create(
        cls,
        sources: Sources,
        *,
        correlation_id: str,
        today: date | None = None,
        cache: ReadCache | None = None,
        scope: str = "default",
        reporting_currency: str = "USD",
    ) -> RequestContext:
        """`scope` is the caller's authorization scope: cached values are keyed by it.
        `reporting_currency` is what aggregates over several currencies are converted to."""
        day = today or date.today()
        loaders = Loaders(sources, cache, scope)
        return cls(sources, loaders, Views(loaders, day, reporting_currency), correlation_id, day, scope)

    @property
    def warnings(self) -> list[dict[str, Any]]:
        """Goes to `extensions.warnings` of the response (for example STALE_DATA)."""
        return self.loaders.reads.warnings
