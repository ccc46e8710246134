"""HubSpot CRM v3 resources, declared: where each lives, its id, properties, change field and paging.

The client and the simulator both read these declarations, so a property the mapping needs is
requested, served and mapped from one list. Wire facts: VENDOR_APIS_MORE.md section 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from opsgraph.connectors.toolkit.resources import ResourceSpec
from opsgraph.model import BillingModel

PAGE_LIMIT = 100  # list endpoints: `limit` max 100
BATCH_LIMIT = 100  # batch/read inputs per call (third-party figure; HubSpot documents no max)
ASSOCIATION_BATCH_LIMIT = 100  # v4 associations batch/read inputs per call
SEARCH_PAGE_LIMIT = 100  # search page size we ask for (page max 200 is unconfirmed)
SEARCH_RESULT_CAP = 10_000  # search paging stops here: a deeper page is a 400
SEARCH_MAX_GROUPS = 5
SEARCH_MAX_FILTERS_PER_GROUP = 6
SEARCH_MAX_FILTERS = 18
SEARCH_IN_LIMIT = 100  # values in one IN / NOT_IN filter
"""Current search docs: 5 groups, 6 filters per group, 18 in total. The 2024-08-26 changelog announced
10 per group and 25 in total; we keep to the stricter figures, which hold under either."""

COMPANY_PROPERTIES: tuple[str, ...] = (
    "name",
    "domain",
    "industry",
    "country",
    "region",  # custom: AMER | EMEA | APAC
    "legal_entity",  # custom: the billing legal entity
    "billing_currency",  # custom: ISO 4217 code
    "createdate",
    "hs_lastmodifieddate",
)
DEAL_PROPERTIES: tuple[str, ...] = (
    "dealname",
    "amount",
    "deal_currency_code",
    "dealstage",
    "pipeline",
    "closedate",
    "hs_deal_stage_probability",
    "hs_is_closed",
    "hs_is_closed_won",
    "hubspot_owner_id",
    "billing_model",  # custom enumeration
    "practice",  # custom
    "engagement_code",  # custom, unique: usable as batch/read `idProperty`
    "createdate",
    "hs_lastmodifieddate",
)

COMPANIES = ResourceSpec(
    name="companies",
    path="/crm/v3/objects/companies",
    id_field="id",
    paging="cursor",
    batch="batch_read",
    records_path="results",
    change_field="hs_lastmodifieddate",  # polled with search GTE + ASC
    fields=COMPANY_PROPERTIES,
)
DEALS = ResourceSpec(
    name="deals",
    path="/crm/v3/objects/deals",
    id_field="id",
    paging="cursor",
    batch="batch_read",
    records_path="results",
    change_field="hs_lastmodifieddate",
    fields=DEAL_PROPERTIES,
)
RESOURCES: dict[str, ResourceSpec] = {r.name: r for r in (COMPANIES, DEALS)}

ASSOCIATIONS_PATH = "/crm/v4/associations/{from_kind}/{to_kind}/batch/read"
"""Associations v4 batch read: `results[].from.id` and `results[].to[].toObjectId`."""

UNIQUE_PROPERTIES: dict[str, tuple[str, ...]] = {"companies": ("domain",), "deals": ("engagement_code",)}
"""Properties with unique values, accepted as batch/read `idProperty`."""

DEFAULT_PIPELINE = "default"


@dataclass(frozen=True)
class Stage:
    id: str  # the internal value `dealstage` carries
    label: str  # the firm's label: the canonical stage name
    probability: float  # 0..1, as `hs_deal_stage_probability`
    closed: bool
    won: bool


DEAL_STAGES: tuple[Stage, ...] = (
    Stage("appointmentscheduled", "Prospecting", 0.1, False, False),
    Stage("qualifiedtobuy", "Qualification", 0.25, False, False),
    Stage("presentationscheduled", "Proposal", 0.5, False, False),
    Stage("contractsent", "Negotiation", 0.75, False, False),
    Stage("closedwon", "Closed Won", 1.0, True, True),
    Stage("closedlost", "Closed Lost", 0.0, True, False),
)
"""The firm's deal pipeline: HubSpot's default stage ids, relabelled as the firm names its stages."""
STAGE_BY_ID: dict[str, Stage] = {s.id: s for s in DEAL_STAGES}
STAGE_BY_LABEL: dict[str, Stage] = {s.label: s for s in DEAL_STAGES}

BILLING_MODEL_VALUES: dict[BillingModel, str] = {
    BillingModel.TIME_AND_MATERIALS: "time_and_materials",
    BillingModel.FIXED_FEE: "fixed_fee",
    BillingModel.CAPPED: "capped",
}
BILLING_MODEL_BY_VALUE: dict[str, BillingModel] = {v: k for k, v in BILLING_MODEL_VALUES.items()}

INDUSTRY_VALUES: dict[str, str] = {
    # canonical industry -> HubSpot's `industry` enumeration value
    "Financial Services": "FINANCIAL_SERVICES",
    "Healthcare": "HOSPITAL_HEALTH_CARE",
    "Retail": "RETAIL",
    "Energy": "OIL_ENERGY",
    "Manufacturing": "MECHANICAL_OR_INDUSTRIAL_ENGINEERING",
    "Public Sector": "GOVERNMENT_ADMINISTRATION",
    "Media": "MEDIA_PRODUCTION",
}
INDUSTRY_BY_VALUE: dict[str, str] = {v: k for k, v in INDUSTRY_VALUES.items()}

DEAL_TO_COMPANY_PRIMARY = 5  # HUBSPOT_DEFINED association type id: the deal's primary company
DEAL_TO_COMPANY = 341  # HUBSPOT_DEFINED, unlabelled deal -> company
COMPANY_TO_DEAL = 342  # HUBSPOT_DEFINED, unlabelled company -> deal
