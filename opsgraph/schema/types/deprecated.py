"""The one place in the schema that names vendors: the vendor-named fields of the classic schema.

Before configured systems (issue 8), the graph named the four classic vendors: `sourceLinks`
(`SourceLinks.salesforceId`, `harvestId`, `bamboohrId`, `netsuiteId`), the `Source` enum and the
`source` fields of `SourceStatus`, `DataQualityIssue` and `ReadinessBlocker`. They stay for ONE
release, marked `@deprecated`, and this module is deleted in the release after (clients move to
`links`, `system`, `role` and `vendor`). Nothing else under `opsgraph/schema` may name a vendor.

Each old field is computed by ROLE from what replaced it, whatever vendor actually fills the role:
`salesforceId` is the record's CRM link, `harvestId` its PSA link, `bamboohrId` its HR link,
`netsuiteId` its ERP link, and a system's `Source` value is the classic vendor of its role.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

import strawberry

from opsgraph.model import Role
from opsgraph.schema.types.refs import SourceRef

DEPRECATED_LINKS = "Use `links`: one SourceRef per configured system, not a field per vendor."
DEPRECATED_SOURCE = "Use `system` and `role`: the Source enum names vendors, not configured systems."


@strawberry.enum(name="Source", description="Deprecated with every field of this type: use `Role`.")
class Source(Enum):
    SALESFORCE = strawberry.enum_value("salesforce", deprecation_reason=DEPRECATED_SOURCE)
    HARVEST = strawberry.enum_value("harvest", deprecation_reason=DEPRECATED_SOURCE)
    BAMBOOHR = strawberry.enum_value("bamboohr", deprecation_reason=DEPRECATED_SOURCE)
    NETSUITE = strawberry.enum_value("netsuite", deprecation_reason=DEPRECATED_SOURCE)


SOURCE_OF_ROLE: dict[Role, Source] = {
    Role.CRM: Source.SALESFORCE,
    Role.PSA: Source.HARVEST,
    Role.HR: Source.BAMBOOHR,
    Role.ERP: Source.NETSUITE,
}


def source_of(role: Role) -> Source:
    """The old `Source` value of a system of `role`: the classic vendor of that role."""
    return SOURCE_OF_ROLE[role]


@strawberry.type(description="Deprecated: use `links`. A record's id per role, named after classic vendors.")
class SourceLinks:
    salesforce_id: str | None = strawberry.field(default=None, deprecation_reason=DEPRECATED_LINKS)
    harvest_id: str | None = strawberry.field(default=None, deprecation_reason=DEPRECATED_LINKS)
    bamboohr_id: str | None = strawberry.field(default=None, deprecation_reason=DEPRECATED_LINKS)
    netsuite_id: str | None = strawberry.field(default=None, deprecation_reason=DEPRECATED_LINKS)

    @classmethod
    def of(cls, links: Iterable[SourceRef]) -> SourceLinks:
        """The first link of each role (the links are in the order the record's fields list them)."""
        ids: dict[Role, str] = {}
        for link in links:
            ids.setdefault(Role(link.role), link.id)
        return cls(
            salesforce_id=ids.get(Role.CRM),
            harvest_id=ids.get(Role.PSA),
            bamboohr_id=ids.get(Role.HR),
            netsuite_id=ids.get(Role.ERP),
        )
