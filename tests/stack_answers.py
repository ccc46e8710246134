"""Helpers for the cross-stack tests (no tests here): a gateway over one stack's simulators, the
business queries an executive or BI tool would send, and how two answers are made comparable."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from test_gateway_support import running_gateway, settings_for

from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

PORTFOLIO = """query($first: Int) { clients(first: $first) { totalCount nodes {
  name industry region billingCountry legalEntity currency arBalance { amount currency }
  links { system role vendor id }
  opportunities { id name stage amount { amount currency } closeDate probability isClosed isWon
    billingModel practice engagementCode }
  engagements { id code name status billingModel startDate endDate budgetHours practice
    contractValue { amount currency }
    burn { budgetHours hoursUsed hoursRemaining percentHoursUsed hoursCountedFrom hoursComplete
      contractValue { amount currency } billedToDate { amount currency } percentBilled status } }
  dataQuality { code message system role vendor recordId field } } } }"""

READINESS = """{ invoiceReadiness { engagement { id code } ready approvedUnbilledHours
  amount { amount currency } blockers { code message system role vendor } periodStart periodEnd } }"""

UTILIZATION = """query($from: Date!, $to: Date!) { utilization(from: $from, to: $to) {
  key label billableHours totalHours capacityHours utilization resource { id name email } } }"""

RECONCILIATION = """query($from: Date!, $to: Date!) { reconciliation(from: $from, to: $to) {
  from to engagementsChecked matched timeBeforeHireCount
  mismatches { engagementCode psaApprovedHours erpPostedHours difference unpostedEntryCount
    unpostedEntryIds reasons }
  dataQuality { code message system role vendor recordId field }
  timeBeforeHire { hireDate entryCount entryIds hours firstDate lastDate resource { name email } } } }"""

STRIPPED = frozenset({"id", "links"})
"""Fields that name records, not business facts: they differ between stacks by design."""
CRM_NAMING = frozenset({"system", "vendor", "recordId"})
"""On an issue or blocker of the CRM role: the CRM's system name, vendor and record id."""
BUSINESS_KEYS = ("code", "engagementCode", "email", "name", "label")


def business(value: Any) -> Any:
    """`value` without ids, links or CRM ids, every list sorted by its items' business key."""
    if isinstance(value, dict):
        crm = value.get("role") == "CRM"
        return {
            k: business(v) for k, v in value.items() if k not in STRIPPED and not (crm and k in CRM_NAMING)
        }
    if isinstance(value, list):
        items = [business(v) for v in value]
        return sorted(items, key=lambda item: (business_key(item), canonical(item)))
    return value


def business_key(item: Any) -> str:
    """An item's code, email, name or label (or its engagement's or resource's); else its JSON."""
    if isinstance(item, dict):
        for name in BUSINESS_KEYS:
            if item.get(name) is not None:
                return str(item[name])
        for nested in ("engagement", "resource"):
            if isinstance(item.get(nested), dict):
                return business_key(item[nested])
    return canonical(item)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def differences(left: Any, right: Any, path: str = "", limit: int = 20) -> list[str]:
    """Where `left` and `right` differ, as paths with both values: a readable failure, not a dump."""
    out: list[str] = []
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(set(left) | set(right)):
            if key not in left or key not in right:
                out.append(f"{path}.{key}: only in {'left' if key in left else 'right'}")
            else:
                out += differences(left[key], right[key], f"{path}.{key}", limit)
    elif isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            out.append(f"{path}: {len(left)} items != {len(right)} items")
        for i, (a, b) in enumerate(zip(left, right, strict=False)):
            out += differences(a, b, f"{path}[{i}]", limit)
    elif left != right:
        out.append(f"{path}: {left!r} != {right!r}")
    return out[:limit]


@dataclass(repr=False)  # the group holds the world: its repr is tens of MB
class StackGateway:
    """A gateway (read cache off) over one stack's simulators, and the simulators' request counts."""

    stack: str
    http: httpx.AsyncClient
    simulators: SimulatorGroup

    async def body(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The whole response body, after asserting HTTP 200 and no `errors`."""
        response = await self.http.post("/graphql", json={"query": query, "variables": variables or {}})
        body: dict[str, Any] = response.json()
        assert response.status_code == 200, (self.stack, body)
        assert "errors" not in body, (self.stack, body["errors"])
        return body

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = (await self.body(query, variables))["data"]
        return data

    async def reset_stats(self) -> None:
        for url in self.simulators.urls().values():
            (await self.http.delete(f"{url}/_sim/stats")).raise_for_status()

    async def counts(self) -> dict[str, dict[str, int]]:
        """Upstream requests per system and route since the last reset."""
        out: dict[str, dict[str, int]] = {}
        for system, url in self.simulators.urls().items():
            stats = (await self.http.get(f"{url}/_sim/stats")).json()
            out[system] = {route: row["count"] for route, row in stats["routes"].items()}
        return out

    async def measure(self, query: str, variables: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """(data, upstream requests per system and route) of one query."""
        await self.reset_stats()
        data = await self.data(query, variables)
        return data, await self.counts()


@asynccontextmanager
async def stack_gateway(stack: str, simulators: SimulatorGroup, world: World) -> AsyncIterator[StackGateway]:
    settings = settings_for(simulators, world, cache={"enabled": False})
    async with running_gateway(settings) as url, httpx.AsyncClient(base_url=url, timeout=120) as http:
        yield StackGateway(stack, http, simulators)
