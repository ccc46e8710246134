"""Which ids a vendor's simulator gives the world's records, and ids it does not have.

Each simulator projects the one seeded world under its vendor's ids; a connector joins its role's suite
by being registered, having a simulator, and having its ids written down here (`ids_for` fails the test
naming the vendor otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from simulators import world as w
from simulators.bamboohr.simulator import MAX_PAGE_LIMIT
from simulators.harvest.sim_paging import MAX_PER_PAGE
from simulators.hubspot.sim_routes import PAGE_LIMIT
from simulators.hubspot.sim_search import MAX_PAGE as HUBSPOT_SEARCH_PAGE
from simulators.hubspot.sim_state import COMPANY_BASE, DEAL_BASE
from simulators.intacct.sim_functions import MAX_PAGE as INTACCT_PAGE
from simulators.kantata.sim_wire import MAX_PER_PAGE as KANTATA_PAGE
from simulators.netsuite.simulator import MAX_LIMIT
from simulators.salesforce.sim_query import MAX_BATCH
from simulators.world import psa_ids as k


@dataclass(frozen=True)
class CrmIds:
    client: Callable[[w.Client], str]
    opportunity: Callable[[w.Opportunity], str]
    unknown_clients: tuple[str, ...]
    """Well-formed ids no client has (another object's id included)."""
    unknown_opportunities: tuple[str, ...]


@dataclass(frozen=True)
class PsaIds:
    """A PSA vendor's ids for the world's delivery records."""

    engagement: Callable[[w.Engagement], str]
    client: Callable[[w.Client], str]
    user: Callable[[w.Person], str]
    assignment: Callable[[w.Assignment], str]
    time_entry: Callable[[w.TimeEntry], str]
    invoice: Callable[[int], str]
    """From the world's PSA invoice number (`harvest_invoice_id`)."""


@dataclass(frozen=True)
class UnknownIds:
    """Well-formed ids the system does not have, per entity (PSA, HR and ERP vendors)."""

    by_entity: dict[str, tuple[str, ...]]

    def __getitem__(self, entity: str) -> tuple[str, ...]:
        return self.by_entity[entity]


CRM: dict[str, CrmIds] = {
    "salesforce": CrmIds(
        client=lambda c: c.sf_id,
        opportunity=lambda o: o.sf_id,
        unknown_clients=(w.salesforce_id("001", 999_999), w.salesforce_id("006", 5000)),
        unknown_opportunities=(w.salesforce_id("006", 999_999), w.salesforce_id("001", 1000)),
    ),
    "hubspot": CrmIds(
        client=lambda c: c.hubspot_id,
        opportunity=lambda o: o.hubspot_id,
        unknown_clients=(str(COMPANY_BASE + 999_999), str(DEAL_BASE + 5000)),
        unknown_opportunities=(str(DEAL_BASE + 999_999), str(COMPANY_BASE + 1000)),
    ),
}
"""CRM vendors: the world's clients and opportunities under the vendor's ids."""

PSA: dict[str, PsaIds] = {
    "harvest": PsaIds(
        engagement=lambda e: str(e.harvest_project_id),
        client=lambda c: str(c.harvest_client_id),
        user=lambda p: str(p.harvest_user_id),
        assignment=lambda a: str(a.id),
        time_entry=lambda t: str(t.id),
        invoice=str,
    ),
    "kantata": PsaIds(
        engagement=k.kantata_workspace_id,
        client=k.kantata_group_id,
        user=k.kantata_user_id,
        assignment=k.kantata_participation_id,
        time_entry=k.kantata_time_entry_id,
        invoice=k.kantata_invoice_id,
    ),
}
"""PSA vendors: the world's engagements, people, assignments and time under the vendor's ids."""

UNKNOWN: dict[str, UnknownIds] = {
    "harvest": UnknownIds(
        {"engagement": ("3999999", "4200000"), "time_entry": ("1999999999",), "code": ("ENG-9999",)}
    ),
    "kantata": UnknownIds(
        {"engagement": ("41999999", "7100000"), "time_entry": ("699999999",), "code": ("ENG-9999",)}
    ),
    "bamboohr": UnknownIds({"resource": ("999999", "99")}),
    "workday": UnknownIds({"resource": ("999999", "99", "E-100")}),
    "netsuite": UnknownIds(
        {
            "customer": ("999999", "9000"),
            "job": ("999999", "2000"),
            "invoice": ("999999", "2000"),
            "code": ("ENG-9999",),
            "client": ("001NOTACLIENT000AAA", "nobody"),
            "period": ("999999",),
        }
    ),
}
UNKNOWN["intacct"] = UNKNOWN["netsuite"]  # Intacct's RECORDNOs are the world's ERP numbers too
"""PSA, HR and ERP vendors: well-formed ids their simulators do not have (another record's id included)."""

UNPAGED = 10**9
"""A vendor whose listings answer in one body (Workday's reports)."""

MALFORMED: tuple[str, ...] = (
    "",
    " ",
    "not-an-id",
    "-1",
    "1.5",
    "0x10",
    "١٢",
    "9" * 40,
    "1 OR 1=1",
    "' OR ''='",
    "%",
    "a/b?c=d",
    "x" * 300,
)
"""Ids no system has, whatever its id shape: each must be absent from a batch read, never an error."""


def crm_ids(vendor: str) -> CrmIds:
    if vendor not in CRM:
        pytest.fail(f"CRM vendor {vendor!r} has no world ids in tests/conformance/ids.py")
    return CRM[vendor]


def psa_ids(vendor: str) -> PsaIds:
    if vendor not in PSA:
        pytest.fail(f"PSA vendor {vendor!r} has no world ids in tests/conformance/ids.py")
    return PSA[vendor]


def unknown_ids(vendor: str) -> UnknownIds:
    if vendor not in UNKNOWN:
        pytest.fail(f"vendor {vendor!r} has no world ids in tests/conformance/ids.py")
    return UNKNOWN[vendor]


def max_page(vendor: str) -> int:
    """The most records the vendor's simulator serves in one page of a listing (its documented limit)."""
    pages = {
        "salesforce": MAX_BATCH,
        "hubspot": max(PAGE_LIMIT, HUBSPOT_SEARCH_PAGE),
        "harvest": MAX_PER_PAGE,
        "kantata": KANTATA_PAGE,
        "bamboohr": MAX_PAGE_LIMIT,
        "netsuite": MAX_LIMIT,
        "intacct": INTACCT_PAGE,
        "workday": UNPAGED,
    }
    if vendor not in pages:
        pytest.fail(f"vendor {vendor!r} has no page size in tests/conformance/ids.py")
    return pages[vendor]
