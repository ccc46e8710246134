"""The simulated HubSpot portal: the world's clients and opportunities as companies and deals.

The same seeded world as the Salesforce simulator, with HubSpot ids: company id =
9000000000 + the Salesforce account's number, deal id = 8000000000 + the opportunity's number,
so one world gives the same figures on either CRM. Owners are the firm's partners and directors.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from opsgraph.connectors.hubspot.mapping import format_datetime
from opsgraph.connectors.hubspot.resources import (
    BILLING_MODEL_VALUES,
    COMPANY_TO_DEAL,
    DEAL_TO_COMPANY,
    DEAL_TO_COMPANY_PRIMARY,
    DEFAULT_PIPELINE,
    INDUSTRY_VALUES,
    SEARCH_RESULT_CAP,
    STAGE_BY_ID,
    STAGE_BY_LABEL,
)
from opsgraph.model import BillingModel
from simulators.world import World

PORTAL_ID = 24681357
COMPANY_BASE = 9_000_000_000
DEAL_BASE = 8_000_000_000
OWNER_BASE = 41_600_000
USER_BASE = 9_580_000
DAILY_LIMIT = 650_000  # Professional
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase

DEFAULT_PROPERTIES: dict[str, tuple[str, ...]] = {
    "companies": ("name", "domain", "createdate", "hs_lastmodifieddate", "hs_object_id"),
    "deals": (
        "dealname",
        "amount",
        "dealstage",
        "pipeline",
        "closedate",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    ),
}


def salesforce_number(sf_id: str) -> int:
    """The number a world Salesforce id encodes (`world.salesforce_id(prefix, n)` in reverse)."""
    n = 0
    for ch in sf_id[6:15]:
        n = n * 62 + _BASE62.index(ch)
    return n


def company_id(sf_account_id: str) -> str:
    return str(COMPANY_BASE + salesforce_number(sf_account_id))


def deal_id(sf_opportunity_id: str) -> str:
    return str(DEAL_BASE + salesforce_number(sf_opportunity_id))


@dataclass
class HubObject:
    id: str
    properties: dict[str, str | None]
    created_at: datetime
    updated_at: datetime
    archived: bool = False

    def json(self, names: tuple[str, ...] | list[str]) -> dict[str, Any]:
        return {
            "id": self.id,
            "properties": {n: self.properties.get(n) for n in names if n in self.properties},
            "createdAt": format_datetime(self.created_at),
            "updatedAt": format_datetime(self.updated_at),
            "archived": self.archived,
        }


@dataclass
class Owner:
    id: str
    email: str
    first: str
    last: str
    user_id: int
    created_at: datetime

    def json(self) -> dict[str, Any]:
        stamp = format_datetime(self.created_at)
        return {
            "id": self.id,
            "email": self.email,
            "type": "PERSON",
            "firstName": self.first,
            "lastName": self.last,
            "userId": self.user_id,
            "userIdIncludingInactive": self.user_id,
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
            "teams": [{"id": "5100001", "name": "Partners", "primary": True}],
        }


@dataclass
class Webhook:
    url: str
    client_secret: str
    app_id: int = 1234567
    subscription_id: int = 7654321


@dataclass
class PortalState:
    world: World
    objects: dict[str, dict[str, HubObject]] = field(default_factory=dict)
    owners: list[Owner] = field(default_factory=list)
    deal_company: dict[str, str] = field(default_factory=dict)
    company_deals: dict[str, list[str]] = field(default_factory=dict)
    search_cap: int = SEARCH_RESULT_CAP
    daily_used: int = 0
    daily_limit: int = DAILY_LIMIT
    webhook: Webhook | None = None
    next_event_id: int = 100
    search_rate: int | None = None  # search requests per second; None: not enforced
    search_hits: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.load()

    def load(self) -> None:
        world = self.world
        self.search_cap, self.daily_used, self.daily_limit, self.webhook = (
            SEARCH_RESULT_CAP,
            0,
            DAILY_LIMIT,
            None,
        )
        self.search_rate, self.search_hits = None, []  # a reset lifts a search rate a test set
        partners = [p for p in world.people if p.title in ("Partner", "Director")] or world.people[:1]
        self.owners = [
            Owner(
                str(OWNER_BASE + k), p.email, p.first, p.last, USER_BASE + k, datetime(2024, 1, 8, tzinfo=UTC)
            )
            for k, p in enumerate(partners)
        ]
        companies: dict[str, HubObject] = {}
        currency: dict[str, str] = {}
        for c in world.clients:
            cid = company_id(c.sf_id)
            currency[c.sf_id] = c.currency
            companies[cid] = HubObject(
                cid,
                {
                    "name": c.name,
                    "domain": c.name.split()[0].lower().replace(" ", "") + f"-{cid[-4:]}.example.com",
                    "industry": INDUSTRY_VALUES.get(c.industry, c.industry.upper().replace(" ", "_")),
                    "country": c.country,
                    "region": c.region,
                    "legal_entity": c.legal_entity,
                    "billing_currency": c.currency,
                    "createdate": format_datetime(c.modified_at - timedelta(days=400)),
                    "hs_lastmodifieddate": format_datetime(c.modified_at),
                    "hs_object_id": cid,
                },
                c.modified_at - timedelta(days=400),
                c.modified_at,
            )
        deals: dict[str, HubObject] = {}
        self.deal_company, self.company_deals = {}, {cid: [] for cid in companies}
        for k, o in enumerate(world.opportunities):
            did, cid = deal_id(o.sf_id), company_id(o.account_id)
            stage = STAGE_BY_LABEL[o.stage]
            owner = self.owners[k % len(self.owners)]
            deals[did] = HubObject(
                did,
                {
                    "dealname": o.name,
                    "amount": str(o.amount),
                    "deal_currency_code": currency.get(o.account_id, "USD"),
                    "dealstage": stage.id,
                    "pipeline": DEFAULT_PIPELINE,
                    "closedate": f"{o.close_date.isoformat()}T00:00:00.000Z",
                    "hs_deal_stage_probability": str(o.probability / 100),
                    "hs_is_closed": str(o.is_closed).lower(),
                    "hs_is_closed_won": str(o.is_won).lower(),
                    "hubspot_owner_id": owner.id,
                    "billing_model": BILLING_MODEL_VALUES[BillingModel(o.billing_model)],
                    "practice": o.practice,
                    "engagement_code": o.engagement_code,
                    "createdate": format_datetime(o.modified_at - timedelta(days=45)),
                    "hs_lastmodifieddate": format_datetime(o.modified_at),
                    "hs_object_id": did,
                },
                o.modified_at - timedelta(days=45),
                o.modified_at,
            )
            self.deal_company[did] = cid
            self.company_deals.setdefault(cid, []).append(did)
        self.objects = {"companies": companies, "deals": deals}

    # -- reads ---------------------------------------------------------------------------------------

    def find(self, kind: str, value: str, id_property: str | None) -> HubObject | None:
        table = self.objects[kind]
        if id_property in (None, "hs_object_id"):
            return table.get(value)
        return next((o for o in table.values() if o.properties.get(id_property) == value), None)

    def associations(self, from_kind: str, ids: list[str]) -> dict[str, list[tuple[str, list[int]]]]:
        """For each id that exists: its associated records as (id, association type ids)."""
        out: dict[str, list[tuple[str, list[int]]]] = {}
        if from_kind == "deals":
            for i in ids:
                if i in self.deal_company:
                    out[i] = [(self.deal_company[i], [DEAL_TO_COMPANY_PRIMARY, DEAL_TO_COMPANY])]
        else:
            for i in ids:
                if i in self.company_deals:
                    out[i] = [(d, [COMPANY_TO_DEAL]) for d in self.company_deals[i]]
        return out

    # -- writes (UI events) --------------------------------------------------------------------------

    def update_company(self, cid: str, properties: dict[str, str], now: datetime) -> HubObject:
        """Set a company's properties as a CRM user would; its `hs_lastmodifieddate` moves to `now`."""
        company = self.objects["companies"].get(cid)
        if company is None:
            raise ValueError(f"no such company {cid!r}")
        if not properties:
            raise ValueError("update_company needs at least one property")
        company.properties.update(properties, hs_lastmodifieddate=format_datetime(now))
        company.updated_at = now
        return company

    def set_deal_stage(self, did: str, stage_id: str, now: datetime) -> HubObject:
        deal = self.objects["deals"].get(did)
        stage = STAGE_BY_ID.get(stage_id)
        if deal is None or stage is None:
            raise ValueError(f"no such deal {did!r} or stage {stage_id!r}")
        deal.properties.update(
            dealstage=stage.id,
            hs_deal_stage_probability=str(stage.probability),
            hs_is_closed=str(stage.closed).lower(),
            hs_is_closed_won=str(stage.won).lower(),
            hs_lastmodifieddate=format_datetime(now),
        )
        deal.updated_at = now
        return deal
