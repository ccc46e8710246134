"""One synthetic consulting firm, generated from a seed.

Every simulator serves a projection of the same `World`, so the join keys of
ARCHITECTURE.md section 3 line up across systems, except where drift is seeded
on purpose (see `Drift`). Same seed, profile and as-of date: same data, byte for byte.
A stack serves a view of it (`views.py`): the CRM the firm runs, or one region's slice for a
regional PSA.
"""

from simulators.world.builder import build_world
from simulators.world.psa_ids import PSAS, psa_invoice_id, psa_of, psa_time_entry_id, with_psa
from simulators.world.records import (
    CRMS,
    DEFAULT_AS_OF,
    PROFILES,
    RATE_CARD,
    REGIONS,
    TASKS,
    AccountingPeriod,
    Assignment,
    Client,
    Drift,
    Engagement,
    Invoice,
    InvoiceLine,
    Opportunity,
    Person,
    Profile,
    TimeEntry,
    TimeOff,
    World,
    salesforce_id,
)
from simulators.world.views import (
    ENTITIES,
    check_entities,
    crm_client_id,
    crm_opportunity_id,
    firm_entity,
    for_entities,
    for_regions,
    with_crm,
)

__all__ = [
    "CRMS",
    "DEFAULT_AS_OF",
    "ENTITIES",
    "PROFILES",
    "PSAS",
    "RATE_CARD",
    "REGIONS",
    "TASKS",
    "AccountingPeriod",
    "Assignment",
    "Client",
    "Drift",
    "Engagement",
    "Invoice",
    "InvoiceLine",
    "Opportunity",
    "Person",
    "Profile",
    "TimeEntry",
    "TimeOff",
    "World",
    "build_world",
    "check_entities",
    "crm_client_id",
    "crm_opportunity_id",
    "firm_entity",
    "for_entities",
    "for_regions",
    "psa_invoice_id",
    "psa_of",
    "psa_time_entry_id",
    "salesforce_id",
    "with_crm",
    "with_psa",
]
