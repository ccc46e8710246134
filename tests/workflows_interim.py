"""INTERIM, dropped at the roles merge: the few port reads the workflow tests need, for NetSuite (ERP)
and Harvest (PSA), while the connector clients of this branch are mid-refactor and do not import.

Trimmed from the clients on `main` onto the refactored base (`SourceClient` with system/vendor/role)
and the new canonical model. At the merge, `erp_client` and `psa_client` become the registry's
clients (`Sources.from_specs`), with `NetSuiteWrites` among `NetSuiteClient`'s bases.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from opsgraph.connectors.base import SourceClient, SourceConfig, UpstreamResponse
from opsgraph.connectors.netsuite.writes import NetSuiteWrites
from opsgraph.connectors.shapes import object_with
from opsgraph.connectors.toolkit.auth import BearerToken, ClientCredentials
from opsgraph.model import (
    AccountingPeriod,
    Engagement,
    ErpJob,
    PsaUser,
    Role,
    TimeEntry,
    TimeEntryStatus,
    TimePosting,
)
from opsgraph.roles.filters import TimeEntryFilter
from simulators.simkit.serve import RunningSimulator, SimulatorGroup, bind, simulator_info
from simulators.world import World


def _legacy_model_names() -> None:
    """INTERIM: `SourceName` and `ErpTimeBill` as on `main`, which `connectors/netsuite/mapping.py`
    still imports (the NetSuite simulator takes its billing-model labels from it). Only what the
    import needs; nothing here uses them."""
    import opsgraph.model as model

    if not hasattr(model, "SourceName"):
        model.SourceName = StrEnum(  # type: ignore[attr-defined,misc]
            "SourceName",
            {
                "SALESFORCE": "salesforce",
                "HARVEST": "harvest",
                "BAMBOOHR": "bamboohr",
                "NETSUITE": "netsuite",
            },
        )
    if not hasattr(model, "ErpTimeBill"):

        class ErpTimeBill(model.Canonical):
            id: str
            harvest_entry_id: int | None
            job_id: str | None
            date: date
            hours: float

        model.ErpTimeBill = ErpTimeBill  # type: ignore[attr-defined]


_legacy_model_names()


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class InterimNetSuite(NetSuiteWrites, SourceClient):
    vendor = "netsuite"
    role = Role.ERP

    def __init__(self, config: SourceConfig, *, system: str | None = None) -> None:
        super().__init__(config, system=system)
        self.authenticator = ClientCredentials(
            self,
            "auth/oauth2/v1/token",
            self._form,
            expect=lambda b: None if isinstance(b, dict) and "access_token" in b else "no access_token",
            refused="token request failed",
            default_lifetime_s=3600.0,
            refresh_early_s=60.0,
        )

    def error_detail(self, response: UpstreamResponse) -> tuple[str | None, str]:
        body = response.body
        if isinstance(body, dict) and isinstance(body.get("o:errorDetails"), list) and body["o:errorDetails"]:
            first = body["o:errorDetails"][0]
            return first.get("o:errorCode"), str(first.get("detail") or body.get("title") or "")
        return None, f"HTTP {response.status}"

    def _form(self) -> dict[str, str]:
        creds, now = self.config.credentials, int(time.time())
        header = {"typ": "JWT", "alg": "HS256", "kid": creds["client_id"]}
        claims = {
            "iss": creds["client_id"],
            "scope": ["rest_webservices"],
            "aud": self.url("auth/oauth2/v1/token"),
            "iat": now,
            "exp": now + 300,
        }
        signing = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = hmac.new(creds["client_secret"].encode(), signing.encode(), hashlib.sha256).digest()
        return {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": f"{signing}.{_b64url(signature)}",
        }

    async def suiteql(self, q: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        while True:
            response = await self.request(
                "POST",
                "query/v1/suiteql",
                params={"limit": "1000", "offset": str(len(rows))},
                json={"q": q},
                headers={"Prefer": "transient"},
                retry=True,
                expect=object_with("items"),
            )
            rows += response.body["items"]
            if not response.body.get("hasMore"):
                return rows

    async def jobs_by_codes(self, codes: Iterable[str]) -> dict[str, ErpJob]:
        in_list = ", ".join("'" + c.replace("'", "''") + "'" for c in codes)
        rows = await self.suiteql(
            f"SELECT id, entityid, companyname, parent, externalid, isinactive FROM job "
            f"WHERE entityid IN ({in_list}) ORDER BY id"
        )
        jobs = [
            ErpJob(
                system=self.system,
                id=r["id"],
                code=r["entityid"],
                name=r.get("companyname", ""),
                customer_id=r["parent"],
                opportunity_id=r.get("externalid"),
                is_inactive=r["isinactive"] == "T",
            )
            for r in rows
        ]
        return {j.code: j for j in jobs}

    async def accounting_periods(self) -> list[AccountingPeriod]:
        rows = await self.suiteql(
            "SELECT id, periodname, startdate, enddate, closed FROM accountingperiod "
            "WHERE isquarter = 'F' AND isyear = 'F' ORDER BY startdate"
        )
        return [
            AccountingPeriod(
                system=self.system,
                id=r["id"],
                name=r["periodname"],
                closed=r["closed"] == "T",
                start=_us_date(r["startdate"]),
                end=_us_date(r["enddate"]),
            )
            for r in rows
        ]

    async def list_time_postings(self, start: date, end: date) -> list[TimePosting]:
        rows = await self.suiteql(
            "SELECT id, externalid, customer, trandate, hours FROM timebill WHERE trandate >= "
            f"TO_DATE('{start}', 'YYYY-MM-DD') AND trandate <= TO_DATE('{end}', 'YYYY-MM-DD') ORDER BY id"
        )
        return [
            TimePosting(
                system=self.system,
                id=r["id"],
                time_entry_id=r.get("externalid"),
                job_id=r.get("customer"),
                date=_us_date(r["trandate"]),
                hours=float(r["hours"]),
            )
            for r in rows
        ]


def _us_date(value: str) -> date:
    """SuiteQL answers dates as `M/D/YYYY` or ISO."""
    if "/" in value:
        month, day, year = (int(p) for p in value.split("/"))
        return date(year, month, day)
    return date.fromisoformat(value[:10])


class InterimHarvest(SourceClient):
    vendor = "harvest"
    role = Role.PSA

    def __init__(self, config: SourceConfig, *, system: str | None = None) -> None:
        super().__init__(config, system=system)
        creds = config.credentials
        self.authenticator = BearerToken(
            creds["access_token"], {"Harvest-Account-Id": creds["account_id"], "User-Agent": "opsgraph tests"}
        )

    async def _collect(self, path: str, key: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        link: str | None = path
        query: Mapping[str, str] | None = {**params, "per_page": "2000"}
        while link:
            body = (await self.request("GET", link, params=query, expect=object_with(key))).body
            out += body[key]
            link, query = (body.get("links") or {}).get("next"), None
        return out

    async def engagements_by_codes(self, codes: Iterable[str]) -> dict[str, Engagement]:
        wanted = set(codes)
        found = {}
        for r in await self._collect("/v2/projects", "projects", {}):
            if r.get("code") in wanted:
                found[r["code"]] = Engagement(
                    system=self.system,
                    id=str(r["id"]),
                    code=r["code"],
                    name=r["name"],
                    is_active=bool(r["is_active"]),
                )
        return found

    async def list_users(self) -> list[PsaUser]:
        return [
            PsaUser(
                system=self.system,
                id=str(r["id"]),
                name=f"{r['first_name']} {r['last_name']}",
                email=r["email"],
                is_active=bool(r["is_active"]),
            )
            for r in await self._collect("/v2/users", "users", {})
        ]

    async def list_time_entries(self, filter: TimeEntryFilter) -> list[TimeEntry]:
        params = {"from": filter.start.isoformat(), "to": filter.end.isoformat()}
        if filter.engagement_id is not None:
            params["project_id"] = filter.engagement_id
        return [
            _entry(self.system, r) for r in await self._collect("/v2/time_entries", "time_entries", params)
        ]


def _entry(system: str, r: dict[str, Any]) -> TimeEntry:
    if (r.get("invoice") or {}).get("id") is not None or r.get("is_billed") is True:
        status = TimeEntryStatus.BILLED
    elif r.get("is_closed"):
        status = TimeEntryStatus.APPROVED
    else:
        status = TimeEntryStatus.UNAPPROVED
    rate = r.get("billable_rate")
    return TimeEntry(
        system=system,
        id=str(r["id"]),
        date=date.fromisoformat(r["spent_date"]),
        hours=float(r["hours"]),
        billable=bool(r["billable"]),
        status=status,
        user_id=str(r["user"]["id"]),
        engagement_id=str(r["project"]["id"]),
        engagement_code=r["project"].get("code"),
        currency=r["client"]["currency"],
        bill_rate=None if rate is None else Decimal(str(rate)),
    )


@dataclass(frozen=True)
class InterimSystem:
    """What `Sources.System` gives the workflows: name, role, vendor, client."""

    name: str
    role: Role
    vendor: str
    client: SourceClient


class InterimSystems:
    """A `Systems` of one ERP (`erp`, NetSuite) and one PSA (`psa`, Harvest) on the simulators."""

    def __init__(self, simulators: SimulatorGroup | Mapping[str, str], *, max_retries: int = 0) -> None:
        """`simulators`: the running group, or each vendor's simulator URL (another process's)."""
        urls = simulators.urls() if isinstance(simulators, SimulatorGroup) else simulators

        def config(vendor: str) -> SourceConfig:
            info = simulator_info(vendor)
            return SourceConfig(
                base_url=info.connector_base_url(urls[vendor]),
                credentials=dict(info.credentials),
                max_retries=max_retries,
                retry_backoff_s=0.01,
                breaker_failure_threshold=1000,
            )

        erp = InterimNetSuite(config("netsuite"), system="erp")
        psa = InterimHarvest(config("harvest"), system="psa")
        self.systems = {
            "erp": InterimSystem("erp", Role.ERP, "netsuite", erp),
            "psa": InterimSystem("psa", Role.PSA, "harvest", psa),
        }
        self.erp, self.psa = erp, psa

    def of_role(self, role: Role) -> list[InterimSystem]:
        return [s for s in self.systems.values() if s.role is role]

    def system(self, name: str) -> InterimSystem:
        return self.systems[name]

    async def close(self) -> None:
        for s in self.systems.values():
            await s.client.close()


WORKFLOW_VENDORS = ("netsuite", "harvest")


class SomeSimulators:
    """INTERIM: only the ERP and PSA simulators in a thread (the shared `simulators` fixture starts all
    five, and the CRM ones do not import mid-refactor). Used as a context manager, like
    `SimulatorThread`; at the merge the workflow tests take the shared fixture instead."""

    def __init__(self, world: World, vendors: Iterable[str] = WORKFLOW_VENDORS) -> None:
        self.group = SimulatorGroup(world)
        self.vendors = tuple(vendors)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="wf-simulators", daemon=True)

    async def _start(self) -> None:
        import uvicorn

        group = self.group
        for vendor in self.vendors:
            info = simulator_info(vendor)
            sock, app = bind(group.host, 0), info.create_app(group.world)
            server = uvicorn.Server(
                uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
            )
            group._servers.append(server)
            group._tasks.append(asyncio.create_task(server.serve(sockets=[sock])))
            group.running[vendor] = RunningSimulator(info, app, group.host, sock.getsockname()[1])
        while not all(s.started for s in group._servers):  # noqa: ASYNC110 (uvicorn sets a flag)
            await asyncio.sleep(0.01)

    def __enter__(self) -> SimulatorGroup:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self.group

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.group.stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
