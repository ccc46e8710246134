"""The engagement a CRM or ERP record names by its code, read only from the PSA systems owning it.

An engagement code is a join value: with one PSA system per region (one for North America, another
for EMEA), looking a code up in every PSA would make a North American opportunity or invoice read (and
depend on) the EMEA system. The owner is known from the record's CRM client: its region
routes the lookup (`Sources.route`). The client is a batched read the graph mostly makes anyway, and
only asked for where the PSA systems are scoped; when it cannot be read, or has no region, every PSA
is asked, as before.
"""

from __future__ import annotations

from opsgraph import model
from opsgraph.connectors.errors import SourceError
from opsgraph.model import Role, record_key
from opsgraph.resolvers.loaders import Loaders
from opsgraph.resolvers.partial import settled


def regional(loaders: Loaders) -> bool:
    """Whether which PSA owns an engagement depends on the region (some PSA system is scoped)."""
    return any(s.scope is not None for s in loaders.sources.of_role(Role.PSA))


async def region_of_client(loaders: Loaders, client_key: str) -> str | None:
    """The region of a CRM client; None where no PSA is scoped, or the client is unknown or unread."""
    if not regional(loaders):
        return None
    client = await settled(loaders.client.load(client_key))
    return None if isinstance(client, SourceError) or client is None else client.region


async def region_of_customer(loaders: Loaders, system: str, customer_id: str) -> str | None:
    """The region of an ERP customer's CRM client (see `region_of_client`)."""
    if not regional(loaders):
        return None
    customer = await settled(loaders.customer.load(record_key(system, customer_id)))
    if isinstance(customer, SourceError) or customer is None:
        return None
    client = await settled(loaders.client_of_customer(customer))
    return None if isinstance(client, SourceError) or client is None else client.region


async def engagement_in(loaders: Loaders, code: str, region: str | None) -> model.Engagement | None:
    """The engagement carrying `code`, from the PSA systems owning `region` (every one for None)."""
    return (await loaders.engagement_by_code(region)).get(code)


async def engagement_of_opportunity(
    loaders: Loaders, opportunity: model.Opportunity
) -> model.Engagement | None:
    code = opportunity.engagement_code
    if code is None:
        return None
    region = await region_of_client(loaders, record_key(opportunity.system, opportunity.client_id))
    return await engagement_in(loaders, code, region)


async def engagement_of_job(loaders: Loaders, job: model.ErpJob) -> model.Engagement | None:
    region = await region_of_customer(loaders, job.system, job.customer_id)
    return await engagement_in(loaders, job.code, region)
