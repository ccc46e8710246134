"""A person: the HR employee joined to their PSA user by email (ARCHITECTURE.md section 3).

The global id holds the HR record's canonical key, or the PSA user's for a person only the PSA
knows (the system's role tells them apart).

HR owns the person; the PSA adds capacity, rates, assignments and time. When the PSA
fails, the person still arrives from HR and only the PSA's fields are null (with the
PSA's error at each), so one system's outage never hides the other's data.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from opsgraph import model
from opsgraph.connectors.errors import SourceError
from opsgraph.model import record_key
from opsgraph.resolvers import stitching
from opsgraph.resolvers.fanout import NOT_READY
from opsgraph.resolvers.partial import settled
from opsgraph.schema.people import assignments_of, time_entries_of
from opsgraph.schema.relay import to_global_id
from opsgraph.schema.types.base import Node, check_range
from opsgraph.schema.types.common import DataQualityIssue, Info, Money, ResourceStatus, money
from opsgraph.schema.types.deprecated import DEPRECATED_LINKS, SourceLinks
from opsgraph.schema.types.refs import SourceRef, refs

if TYPE_CHECKING:
    from opsgraph.schema.types.nodes import Assignment, TimeEntry
    from opsgraph.schema.types.views import UtilizationRow

Nodes = "opsgraph.schema.types.nodes"
Views = "opsgraph.schema.types.views"


@strawberry.type
class Resource(Node):
    name: str
    email: str | None
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
        key = hr.key if hr else psa.key  # type: ignore[union-attr]
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
    def for_psa_user_now(info: Info, user_key: str) -> Resource | Awaitable[Resource | None] | None:
        """`for_psa_user`, answered without a coroutine when the request already holds both indexes
        (every row of a list after the first): a sync resolver's fast path."""
        loaders = info.context.loaders
        user = loaders.psa_user_now(user_key)
        directory = loaders.fan.index_ready("resource_by_email")
        if user is NOT_READY or directory is NOT_READY:
            return Resource.for_psa_user(info, user_key)
        return Resource.of(directory.get(user.email.lower()), user) if user is not None else None

    @staticmethod
    async def for_psa_user(info: Info, user_key: str) -> Resource | None:
        """The person of the PSA user with canonical key `user_key`, joined to HR by email."""
        user = await info.context.loaders.psa_user(user_key)
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
        hr = await info.context.loaders.resource.load(record_key(self.hr.system, self.hr.manager_id))
        return await Resource.for_hr(info, hr) if hr else None

    @strawberry.field
    async def time_off(
        self, info: Info, from_: Annotated[date, strawberry.argument(name="from")], to: date
    ) -> list[TimeOffRequest] | None:
        check_range(from_, to)
        if self.hr is None:
            return []
        rows = await info.context.loaders.time_off(from_, to)
        hr = self.hr
        return [TimeOffRequest.of(t) for t in rows if t.resource_id == hr.id and t.system == hr.system]

    @strawberry.field
    async def assignments(self, info: Info) -> list[Annotated[Assignment, strawberry.lazy(Nodes)]] | None:
        from opsgraph.schema.types.nodes import Assignment

        psa = self._psa()
        if psa is None:
            return []
        return [Assignment.of(a) for a in await assignments_of(info.context.loaders, psa.email)]

    @strawberry.field
    async def time_entries(
        self, info: Info, from_: Annotated[date, strawberry.argument(name="from")], to: date
    ) -> list[Annotated[TimeEntry, strawberry.lazy(Nodes)]] | None:
        from opsgraph.schema.types.nodes import TimeEntry

        check_range(from_, to)
        psa = self._psa()
        if psa is None:
            return []
        entries = await time_entries_of(info.context.loaders, psa.email, from_, to)
        return [TimeEntry.of(e) for e in entries]

    @strawberry.field
    async def utilization(
        self, info: Info, from_: Annotated[date, strawberry.argument(name="from")], to: date
    ) -> Annotated[UtilizationRow, strawberry.lazy(Views)] | None:
        from opsgraph.schema.types.views import UtilizationRow

        check_range(from_, to)
        psa = self._psa()
        if psa is None:
            return None
        rows = await info.context.views.utilization(from_, to, "RESOURCE", only_user=psa.key)
        return UtilizationRow.of(rows[0]) if rows else None

    def _links(self, info: Info) -> list[SourceRef]:
        return refs(info.context.sources, [self.hr, self._psa()])

    @strawberry.field(description="The record's id in each configured system it lives in.")
    def links(self, info: Info) -> list[SourceRef] | None:
        return self._links(info)

    @strawberry.field(deprecation_reason=DEPRECATED_LINKS)
    def source_links(self, info: Info) -> SourceLinks | None:
        return SourceLinks.of(self._links(info))

    @strawberry.field
    def data_quality(self, info: Info) -> list[DataQualityIssue] | None:
        issues = stitching.resource_issues(info.context.sources, self._psa(), self.hr, self.email or "")
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
