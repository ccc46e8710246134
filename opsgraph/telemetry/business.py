"""Business metrics: the figures the firm's leaders ask for, computed in the background, never on a scrape.

Every `telemetry.business_metrics_interval_s` the job asks the graph itself (one GraphQL operation,
`BusinessMetrics`, through the schema and the read cache like any request), so the figures are the
graph's own answers, and sets the gauges `/metrics` serves (`telemetry/metrics.py`):

- `opsgraph_approved_unbilled_hours`: approved, unbilled hours over every active engagement;
- `opsgraph_invoice_ready_amount{currency}`: what could be invoiced now (engagements ready to invoice);
- `opsgraph_engagements_blocked{blocker}`: active engagements held back, per blocker code;
- `opsgraph_reconciliation_mismatches`: engagements whose PSA and ERP disagree this month so far;
- `opsgraph_workflows_parked{kind}`: the exception backlog (and `opsgraph_workflows{kind,status}`);
- `opsgraph_source_sync_lag_seconds{system}`: time since the system's last successful change poll
  (systems this process polls);
- `opsgraph_business_metrics_last_success_timestamp_seconds`, `..._failures_total`: the job itself.

The gauges exist from the first snapshot on: before it, and with the job off, none is served.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from prometheus_client import Counter as PromCounter
from prometheus_client import Gauge
from strawberry.schema.base import BaseSchema

from opsgraph.clock import Clock
from opsgraph.context import correlation_id, new_correlation_id
from opsgraph.telemetry.metrics import Metrics

__all__ = ["BUSINESS_QUERY", "BusinessMetricsJob", "BusinessSnapshot", "WorkflowCounts"]

log = logging.getLogger("opsgraph.business_metrics")

BUSINESS_QUERY = """query BusinessMetrics($from: Date!, $to: Date!) {
  invoiceReadiness { ready approvedUnbilledHours amount { amount currency } blockers { code } }
  reconciliation(from: $from, to: $to) { mismatches { __typename } }
}"""

WorkflowCounts = Callable[[], Awaitable[Mapping[tuple[str, str], int]]]
"""Workflows per (kind, status), from the workflow store; every kind and status present."""


@dataclass
class BusinessSnapshot:
    approved_unbilled_hours: float = 0.0
    invoice_ready_amount: dict[str, Decimal] = field(default_factory=dict)
    engagements_blocked: dict[str, int] = field(default_factory=dict)
    reconciliation_mismatches: int = 0
    workflows: dict[tuple[str, str], int] = field(default_factory=dict)
    sync_lag_s: dict[str, float] = field(default_factory=dict)
    computed_at: float = 0.0

    @property
    def workflows_parked(self) -> dict[str, int]:
        return {kind: n for (kind, status), n in self.workflows.items() if status == "PARKED"}

    @classmethod
    def from_data(cls, data: dict[str, Any], computed_at: float) -> BusinessSnapshot:
        rows = [row for row in data.get("invoiceReadiness") or [] if row is not None]
        ready: dict[str, Decimal] = {}
        blocked: Counter[str] = Counter()
        for row in rows:
            if row["ready"]:
                currency = row["amount"]["currency"]
                ready[currency] = ready.get(currency, Decimal(0)) + Decimal(str(row["amount"]["amount"]))
            blocked.update({blocker["code"] for blocker in row["blockers"]})
        reconciliation = data.get("reconciliation") or {}
        return cls(
            approved_unbilled_hours=round(sum(row["approvedUnbilledHours"] for row in rows), 2),
            invoice_ready_amount=ready,
            engagements_blocked=dict(blocked),
            reconciliation_mismatches=len(reconciliation.get("mismatches") or []),
            computed_at=computed_at,
        )


class _Gauges:
    """The business gauges, registered on the first snapshot."""

    def __init__(self, metrics: Metrics) -> None:
        r = metrics.registry

        def gauge(name: str, text: str, labels: tuple[str, ...] = ()) -> Gauge:
            return Gauge(f"opsgraph_{name}", text, labels, multiprocess_mode="mostrecent", registry=r)

        self.metrics = metrics
        self.hours = gauge("approved_unbilled_hours", "Approved, unbilled hours on active engagements")
        self.ready = gauge("invoice_ready_amount", "Amount ready to invoice, by currency", ("currency",))
        self.blocked = gauge(
            "engagements_blocked", "Active engagements not ready to invoice, by blocker", ("blocker",)
        )
        self.mismatches = gauge(
            "reconciliation_mismatches", "Engagements whose PSA and ERP disagree this month"
        )
        self.parked = gauge(
            "workflows_parked", "Parked workflows (the exception backlog), by kind", ("kind",)
        )
        self.lag = gauge(
            "source_sync_lag_seconds", "Time since the system's last successful change poll", ("system",)
        )
        self.at = gauge("business_metrics_last_success_timestamp_seconds", "When the figures were computed")

    def show(self, snap: BusinessSnapshot) -> None:
        m = self.metrics
        self.hours.set(snap.approved_unbilled_hours)
        m.set_gauge(self.ready, {(c,): float(a) for c, a in snap.invoice_ready_amount.items()})
        m.set_gauge(self.blocked, {(b,): n for b, n in snap.engagements_blocked.items()})
        self.mismatches.set(snap.reconciliation_mismatches)
        m.set_gauge(self.parked, {(k,): n for k, n in snap.workflows_parked.items()})
        m.set_gauge(m.workflows, {key: n for key, n in snap.workflows.items()})
        m.set_gauge(self.lag, {(s,): lag for s, lag in snap.sync_lag_s.items()})
        self.at.set(snap.computed_at)


class BusinessMetricsJob:
    """Computes a `BusinessSnapshot` now (`refresh`) or on a schedule (`run`), and shows it on `metrics`.

    `workflows` counts the workflow store; `polled` gives each system's last successful change poll
    (clock time), for the systems polled so far."""

    def __init__(
        self,
        schema: BaseSchema,
        context: Callable[[], Any],
        clock: Clock,
        metrics: Metrics,
        *,
        workflows: WorkflowCounts | None = None,
        polled: Callable[[], Mapping[str, float]] = dict,
    ) -> None:
        self.schema, self.context, self.clock, self.metrics = schema, context, clock, metrics
        self.workflows, self.polled = workflows, polled
        self.snapshot: BusinessSnapshot | None = None
        self._failures: PromCounter | None = None
        self._gauges: _Gauges | None = None

    def _failed(self) -> None:
        if self._failures is not None:
            self._failures.inc()

    async def refresh(self) -> BusinessSnapshot | None:
        today = self.clock.today()
        token = correlation_id.set(new_correlation_id())
        try:
            result = await self.schema.execute(
                BUSINESS_QUERY,
                variable_values={"from": today.replace(day=1).isoformat(), "to": today.isoformat()},
                context_value=self.context(),
                operation_name="BusinessMetrics",
            )
        finally:
            correlation_id.reset(token)
        if result.errors or result.data is None:
            # partial figures would read as a drop: keep the last good snapshot, count the failure
            self._failed()
            log.warning(
                "business metrics not refreshed: %s", "; ".join(e.message for e in result.errors or [])
            )
            return None
        now = self.clock.time()
        snap = BusinessSnapshot.from_data(result.data, now)
        snap.workflows = dict(await self.workflows()) if self.workflows is not None else {}
        snap.sync_lag_s = {s: round(max(0.0, now - at), 3) for s, at in self.polled().items()}
        if self._gauges is None:
            self._gauges = _Gauges(self.metrics)
        self._gauges.show(snap)
        self.snapshot = snap
        return snap

    async def run(self, interval_s: float) -> None:
        if self._failures is None:
            self._failures = PromCounter(
                "opsgraph_business_metrics_failures",
                "Business metric refreshes that failed",
                registry=self.metrics.registry,
            )
        while True:
            try:
                await self.refresh()
            except Exception:
                self._failed()
                log.exception("business metrics failed")
            await self.clock.sleep(interval_s)
