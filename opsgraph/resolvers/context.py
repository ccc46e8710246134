"""The per-request context: loaders, derived views, correlation id, the day views are computed for."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError

from opsgraph.auth.caller import Caller
from opsgraph.auth.policy import RowRule
from opsgraph.cache import ReadCache
from opsgraph.clock import Clock, SystemClock
from opsgraph.resolvers.loaders import Loaders
from opsgraph.resolvers.rows import RowRules, RowScope
from opsgraph.resolvers.sources import Sources
from opsgraph.resolvers.views.service import Views

if TYPE_CHECKING:
    from opsgraph.events.bus import EventBus
    from opsgraph.workflows import WorkflowEngine  # a peer of the resolvers: only the mutations call it


@dataclass
class RequestContext:
    sources: Sources
    loaders: Loaders
    views: Views
    correlation_id: str
    clock: Clock
    scope: str = "default"
    workflows: WorkflowEngine | None = None
    caller: Caller | None = None
    """Who is asking (`opsgraph/auth`); None only outside the gateway (tests building a context)."""
    bus: EventBus | None = None
    """Where subscriptions read events from (None: the gateway has no events running)."""
    denied_fields: dict[int, GraphQLError] = field(default_factory=dict)
    """Fields the policy denies the caller in this request's document: the source offset of each
    field node -> its FORBIDDEN error (`gateway/authorization.py`; the executor reads it)."""
    row_rule: RowRule | None = None
    """The policy's row rules, applied to callers with scopes (None: no row rules)."""

    @classmethod
    def create(
        cls,
        sources: Sources,
        *,
        correlation_id: str,
        clock: Clock | None = None,
        cache: ReadCache | None = None,
        scope: str = "default",
        reporting_currency: str = "USD",
        workflows: WorkflowEngine | None = None,
        caller: Caller | None = None,
        row_rule: RowRule | None = None,
    ) -> RequestContext:
        """`scope` is the caller's authorization scope: cached values are keyed by it.
        `reporting_currency` is what aggregates over several currencies are converted to.
        `clock` gives the day views are computed for (the machine's clock by default). `workflows` runs
        the mutations, each under `caller` (their workflow ids derive from it). `row_rule` limits
        what a caller with scopes sees (`resolvers/rows.py`)."""
        clock = clock or SystemClock()
        loaders = Loaders(sources, cache, scope, _row_scope(caller, row_rule))
        views = Views(loaders, clock, reporting_currency)
        context = cls(sources, loaders, views, correlation_id, clock, scope, workflows, caller)
        context.row_rule = row_rule
        return context

    def authenticated(self, caller: Caller) -> None:
        """`caller` is who asks from now on (a WebSocket's `connection_init`), with their row rules."""
        self.caller = caller
        scope = _row_scope(caller, self.row_rule)
        self.loaders.rows = RowRules(self.loaders, scope) if scope is not None else None

    @property
    def today(self) -> date:
        """The business day of this request (pinned in the demo)."""
        return self.clock.today()

    @property
    def warnings(self) -> list[dict[str, Any]]:
        """Goes to `extensions.warnings` of the response (for example STALE_DATA)."""
        return self.loaders.reads.warnings


def _row_scope(caller: Caller | None, rule: RowRule | None) -> RowScope | None:
    if caller is None or caller.scopes is None or rule is None:
        return None
    return RowScope(caller.scopes, frozenset(rule.types), frozenset(rule.match))
