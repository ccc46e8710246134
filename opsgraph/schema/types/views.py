"""Types for the derived views: burn, invoice readiness, forecast, utilization, reconciliation."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

import strawberry
from strawberry import Private

from opsgraph import model
from opsgraph.resolvers.sources import System
from opsgraph.resolvers.views import burn, forecast, hire, readiness, reconciliation
from opsgraph.resolvers.views import utilization as utilization_view
from opsgraph.schema.relay import to_global_id
from opsgraph.schema.types.common import ConvertedMoney, DataQualityIssue, Info, Money
from opsgraph.schema.types.deprecated import DEPRECATED_SOURCE, Source, source_of
from opsgraph.schema.types.nodes import Engagement, Resource
from opsgraph.schema.types.refs import Role


@strawberry.enum
class BurnStatus(Enum):
    ON_TRACK = "ON_TRACK"
    AT_RISK = "AT_RISK"
    OVER_BUDGET = "OVER_BUDGET"


@strawberry.type(
    description="Hours come from the PSA, money from the ERP: when the ERP fails, only the "
    "money fields (and the status, which weighs both) are null."
)
class Burn:
    budget_hours: float | None
    hours_used: float
    hours_remaining: float | None
    percent_hours_used: float | None
    hours_counted_from: date | None = strawberry.field(
        description="The first day counted in hoursUsed: the engagement's start when hoursComplete"
    )
    hours_complete: bool = strawberry.field(
        description="False: time before hoursCountedFrom may be missing (older than the gateway reads "
        "back, no start date, or the PSA failed); an INCOMPLETE_DATA warning says so too"
    )
    figures: Private[burn.Burn]

    @classmethod
    def of(cls, b: burn.Burn) -> Burn:
        return cls(
            budget_hours=b.budget_hours,
            hours_used=b.hours_used,
            hours_remaining=b.hours_remaining,
            percent_hours_used=b.percent_hours_used,
            hours_counted_from=b.hours_counted_from,
            hours_complete=b.hours_complete,
            figures=b,
        )

    def _money(self) -> burn.Burn:
        if self.figures.money_error is not None:
            raise self.figures.money_error
        return self.figures

    @strawberry.field
    def contract_value(self) -> Money | None:
        return Money.maybe(self._money().contract_value)

    @strawberry.field
    def billed_to_date(self) -> Money | None:
        return Money.of(self._money().billed_to_date)

    @strawberry.field
    def percent_billed(self) -> float | None:
        return self._money().percent_billed

    @strawberry.field
    def status(self) -> BurnStatus | None:
        return BurnStatus(self._money().status)


@strawberry.type
class ReadinessBlocker:
    code: str
    message: str
    system: str | None = strawberry.field(description="The configured system that blocks, if one does")

    def _system(self, info: Info) -> System | None:
        return info.context.sources.systems.get(self.system) if self.system else None

    @strawberry.field
    def role(self, info: Info) -> Role | None:  # type: ignore[valid-type]
        system = self._system(info)
        return system.role if system else None

    @strawberry.field
    def vendor(self, info: Info) -> str | None:
        system = self._system(info)
        return system.vendor if system else None

    @strawberry.field(deprecation_reason=DEPRECATED_SOURCE)
    def source(self, info: Info) -> Source | None:
        system = self._system(info)
        return source_of(system.role) if system else None


@strawberry.type
class InvoiceReadiness:
    ready: bool
    approved_unbilled_hours: float
    amount: Money
    blockers: list[ReadinessBlocker]
    as_of: datetime
    period_start: date
    period_end: date
    subject: Private[model.Engagement]

    @classmethod
    def of(cls, r: readiness.Readiness, engagement: model.Engagement) -> InvoiceReadiness:
        return cls(
            ready=r.ready,
            approved_unbilled_hours=r.approved_unbilled_hours,
            amount=Money.of(r.amount),
            blockers=[ReadinessBlocker(code=b.code, message=b.message, system=b.system) for b in r.blockers],
            as_of=r.as_of,
            period_start=r.period_start,
            period_end=r.period_end,
            subject=engagement,
        )

    @strawberry.field
    def engagement(self) -> Engagement:
        return Engagement.of(self.subject)


@strawberry.type
class ForecastPeriod:
    start: date
    end: date
    actual_revenue: ConvertedMoney | None = strawberry.field(
        description="Invoiced in the period, each invoice at its accounting period's AVERAGE rate"
    )
    approved_unbilled: ConvertedMoney | None = strawberry.field(
        description="Approved, unbilled time (in today's period only), at the CURRENT rate of today's period"
    )
    backlog: ConvertedMoney | None = strawberry.field(
        description="Unbilled contract value spread over the period, at the CURRENT rate of today's period"
    )
    weighted_pipeline: ConvertedMoney | None = strawberry.field(
        description="Open opportunities closing in the period, weighted by probability, at the CURRENT rate "
        "of today's period"
    )
    projected_revenue: ConvertedMoney | None = strawberry.field(
        description="Actual revenue plus, for periods not yet over, approved unbilled, backlog and pipeline"
    )
    capacity_hours: float | None
    demand_hours: float | None

    @classmethod
    def of(cls, p: forecast.ForecastPeriod) -> ForecastPeriod:
        return cls(
            start=p.start,
            end=p.end,
            actual_revenue=ConvertedMoney.of(p.actual_revenue),
            approved_unbilled=ConvertedMoney.of(p.approved_unbilled),
            backlog=ConvertedMoney.of(p.backlog),
            weighted_pipeline=ConvertedMoney.of(p.weighted_pipeline),
            projected_revenue=ConvertedMoney.of(p.projected_revenue),
            capacity_hours=p.capacity_hours,
            demand_hours=p.demand_hours,
        )


@strawberry.type
class Forecast:
    from_: date = strawberry.field(name="from")
    to: date
    periods: list[ForecastPeriod]


@strawberry.type
class UtilizationRow:
    key: str
    label: str
    billable_hours: float
    total_hours: float
    capacity_hours: float
    utilization: float | None
    row: Private[utilization_view.UtilizationRow]

    @classmethod
    def of(cls, r: utilization_view.UtilizationRow) -> UtilizationRow:
        return cls(
            key=r.key,
            label=r.label,
            billable_hours=r.billable_hours,
            total_hours=r.total_hours,
            capacity_hours=r.capacity_hours,
            utilization=r.utilization,
            row=r,
        )

    @strawberry.field
    async def resource(self, info: Info) -> Resource | None:
        if self.row.resource is None:
            return None
        return await Resource.for_hr(info, self.row.resource)


@strawberry.type
class ReconciliationRow:
    engagement_code: str
    psa_approved_hours: float
    erp_posted_hours: float
    difference: float
    unposted_entry_count: int
    unposted_entry_ids: list[strawberry.ID]
    reasons: list[str]


@strawberry.type(description="One person's PSA time dated before their HR hire date.")
class TimeBeforeHire:
    hire_date: date
    entry_count: int
    entry_ids: list[strawberry.ID]
    hours: float
    first_date: date
    last_date: date
    hr: Private[model.Resource]

    @classmethod
    def of(cls, t: hire.TimeBeforeHire) -> TimeBeforeHire:
        return cls(
            hire_date=t.hire_date,
            entry_count=len(t.entry_keys),
            entry_ids=[strawberry.ID(to_global_id("TimeEntry", k)) for k in t.entry_keys],
            hours=t.hours,
            first_date=t.first_date,
            last_date=t.last_date,
            hr=t.resource,
        )

    @strawberry.field
    async def resource(self, info: Info) -> Resource:
        return await Resource.for_hr(info, self.hr)


@strawberry.type
class ReconciliationReport:
    from_: date = strawberry.field(name="from")
    to: date
    engagements_checked: int
    matched: int
    mismatches: list[ReconciliationRow]
    data_quality: list[DataQualityIssue]
    time_before_hire: list[TimeBeforeHire] = strawberry.field(
        description="Per person, PSA time in the range dated before their HR hire date"
    )
    time_before_hire_count: int = strawberry.field(
        description="Time entries in the range dated before their person's HR hire date"
    )

    @classmethod
    def of(cls, r: reconciliation.ReconciliationReport) -> ReconciliationReport:
        rows = [
            ReconciliationRow(
                engagement_code=m.engagement_code,
                psa_approved_hours=m.psa_approved_hours,
                erp_posted_hours=m.erp_posted_hours,
                difference=m.difference,
                unposted_entry_count=len(m.unposted_entry_keys),
                unposted_entry_ids=[
                    strawberry.ID(to_global_id("TimeEntry", k)) for k in m.unposted_entry_keys
                ],
                reasons=list(m.reasons),
            )
            for m in r.mismatches
        ]
        return cls(
            from_=r.start,
            to=r.end,
            engagements_checked=r.engagements_checked,
            matched=r.matched,
            mismatches=rows,
            data_quality=[DataQualityIssue.of(i) for i in r.data_quality],
            time_before_hire=[TimeBeforeHire.of(t) for t in r.time_before_hire],
            time_before_hire_count=sum(len(t.entry_keys) for t in r.time_before_hire),
        )


@strawberry.enum
class CircuitState(Enum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


@strawberry.type
class CacheStats:
    """The read cache's counters for one entity of a system, since the process started."""

    entity: str
    hits: int
    misses: int
    stale_serves: int
    evictions: int
    errors: int


@strawberry.type
class SourceStatus:
    system: str = strawberry.field(description="The configured system's name")
    role: Role  # type: ignore[valid-type]
    vendor: str
    reachable: bool
    circuit_state: CircuitState
    requests: int
    failures: int
    last_latency_ms: float | None
    p95_latency_ms: float | None
    last_error: str | None
    last_error_code: str | None
    cache: list[CacheStats]
    last_change_poll_at: datetime | None = strawberry.field(
        default=None,
        description="When change polling last asked the system successfully (this replica; null: not yet)",
    )

    @strawberry.field(deprecation_reason=DEPRECATED_SOURCE)
    def source(self) -> Source:
        return source_of(self.role)
