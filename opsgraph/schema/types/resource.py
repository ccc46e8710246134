"""A person: the HR employee joined to their PSA user by email (ARCHITECTURE.md section 3).

HR owns the person; the PSA adds capacity, rates, assignments and time. When the PSA
fails, the person still arrives from HR and only the PSA's fields are null (with the
PSA's error at each), so one system's outage never hides the other's data.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from opsgraph import model
from opsgraph.connectors.errors import SourceError
from opsgraph.model import Role
from opsgraph.resolvers import stitching
from opsgraph.resolvers.partial import settled
from opsgraph.schema.relay import to_global_id
from opsgraph.schema.types.base import Node, check_range
from opsgraph.schema.types.common import (
    DEPRECATED_LINKS,
    DataQualityIssue,
    Info,
    Money,
    ResourceStatus,
    SourceLinks,
    money,
)
from opsgraph.schema.types.refs import SourceRef, refs

if TYPE_CHECKING:
    from opsgraph.schema.types.nodes import Assignment, TimeEntry
    from opsgraph.schema.types.views import UtilizationRow

Nodes = "opsgraph.schema.types.nodes"
Views = "opsgraph.schema.types.views"


@strawberry.type
class Resource(Node):
    name: str
    email: str
    title: str | None
    department: str | None
    location: str | None
    status: ResourceStatus  # type: ignore[valid-type]
    hr: Private[model.Resource | None]
    psa: Private[model.PsaUser | None]
    psa_error: Private[SourceError | None]

    @classmethod
    def of(
        cls, hr: model.Resource | None, psa: model.PsaUser | None, psa_error: SourceError | None = None
    ) -> Resource:
        """`psa_error`: the PSA failed, so whether this person has a PSA user is unknown."""
        if hr is None and psa is None:
            raise ValueError("a resource needs an HR or a PSA record")
        key = hr.id if hr else f"psa-{psa.id}"  # type: ignore[union-attr]
        return cls(
            id=strawberry.ID(to_global_id("Resource", key)),
            name=hr.name if hr else psa.name,  # type: ignore[union-attr]
            email=hr.email if hr else psa.email,  # type: ignore[union-attr]
            title=hr.title if hr else None,
            department=hr.department if hr else None,
            location=hr.location if hr else None,
            status=hr.status if hr else model.ResourceStatus.ACTIVE,
            hr=hr,
            psa=psa,
            psa_error=psa_error,
        )

    @staticmethod
    async def for_psa_user(info: Info, user_id: int) -> Resource | None:
        user = (await info.context.loaders.psa_users()).get(user_id)
        if user is None:
            return None
        hr = (await info.context.loaders.resource_by_email()).get(user.email.lower())
        return Resource.of(hr, user)

    @staticmethod
    async def for_hr(info: Info, hr: model.Resource) -> Resource:
        """An HR employee joined to their PSA user by email; a PSA failure nulls only the PSA fields."""
        users = await settled(info.context.loaders.psa_user_by_email())
        if isinstance(users, SourceError):
            return Resource.of(hr, None, users)
        return Resource.of(hr, users.get(hr.email.lower()))

    def _psa(self) -> model.PsaUser | None:
        """The PSA user, or None if there is none; raises the PSA's error when it failed."""
        if self.psa_error is not None:
            raise self.psa_error
        return self.psa

    @strawberry.field
    def weekly_capacity_hours(self) -> float | None:
        psa = self._psa()
        return psa.weekly_capacity_hours if psa else None

    @strawberry.field
    def cost_rate(self) -> Money | None:
        if self.hr and self.hr.cost_rate:
            return Money.of(self.hr.cost_rate)
        psa = self._psa()
        return money(psa.cost_rate if psa else None, "USD")

    @strawberry.field
    def default_bill_rate(self) -> Money | None:
        psa = self._psa()
        return money(psa.default_hourly_rate if psa else None, "USD")

    @strawberry.field
    async def manager(self, info: Info) -> Resource | None:
        if self.hr is None or self.hr.manager_id is None:
            return None
        hr = await info.context.loaders.resource.load(self.hr.manager_id)
        return await Resource.for_hr(info, hr) if hr else None

    @strawberry.field
    async def time_off(
        self, info: Info, from_: Annotated[date, strawberry.argument(name="from")], to: date
    ) -> list[TimeOffRequest] | None:
        check_range(from_, to)
        if self.hr is None:
            return []
        rows = await info.context.loaders.time_off(from_, to)
        return [TimeOffRequest.of(t) for t in rows if t.resource_id == self.hr.id]

    @strawberry.field
    async def assignments(self, info: Info) -> list[Annotated[Assignment, strawberry.lazy(Nodes)]] | None:
        from opsgraph.schema.types.nodes import Assignment

        psa = self._psa()
        if psa is None:
            return []
        rows = await info.context.loaders.assignments()
        return [Assignment.of(a) for a in rows if a.harvest_user_id == psa.id]

    @strawberry.field
    async def time_entries(
        self, info: Info, from_: Annotated[date, strawberry.argument(name="from")], to: date
    ) -> list[Annotated[TimeEntry, strawberry.lazy(Nodes)]] | None:
        from opsgraph.schema.types.nodes import TimeEntry

        check_range(from_, to)
        psa = self._psa()
        if psa is None:
            return []
        entries = await info.context.loaders.entries_in_range(from_, to)
        return [TimeEntry.of(e) for e in entries if e.harvest_user_id == psa.id]

    @strawberry.field
    async def utilization(
        self, info: Info, from_: Annotated[date, strawberry.argument(name="from")], to: date
    ) -> Annotated[UtilizationRow, strawberry.lazy(Views)] | None:
        from opsgraph.schema.types.views import UtilizationRow

        check_range(from_, to)
        psa = self._psa()
        if psa is None:
            return None
        rows = await info.context.views.utilization(from_, to, "RESOURCE", only_user=psa.id)
        return UtilizationRow.of(rows[0]) if rows else None

    @strawberry.field(description="The record's id in each configured system it lives in.")
    def links(self, info: Info) -> list[SourceRef] | None:
        psa = self._psa()
        ids = [(Role.HR, self.hr.id if self.hr else None), (Role.PSA, psa.id if psa else None)]
        return refs(info.context.sources, ids)

    @strawberry.field(deprecation_reason=DEPRECATED_LINKS)
    def source_links(self) -> SourceLinks | None:
        psa = self._psa()
        return SourceLinks(
            bamboohr_id=self.hr.id if self.hr else None, harvest_id=str(psa.id) if psa else None
        )

    @strawberry.field
    def data_quality(self) -> list[DataQualityIssue] | None:
        issues = stitching.resource_issues(self._psa(), self.hr, self.email)
        return [DataQualityIssue.of(i) for i in issues]


@strawberry.type
class TimeOffRequest:
    start: date
    end: date
    days: float
    kind: str
    status: str

    @classmethod
    def of(cls, t: model.TimeOff) -> TimeOffRequest:
        return cls(start=t.start, end=t.end, days=t.amount_days, kind=t.kind, status=t.status)
