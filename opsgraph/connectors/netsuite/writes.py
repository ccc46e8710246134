"""NetSuite writes of the ERP port used by the workflows: time postings (postApprovedTime).

`NetSuiteWrites` is a mixin of `NetSuiteClient` (`class NetSuiteClient(NetSuiteWrites, SourceClient)`):
it uses the client's `system`, `request` and `suiteql`, as `host.NetSuiteHost` names them.

Each posting is a `timeBill` upserted with `PUT record/v1/timeBill/eid:<PSA entry id>`, so a posting
resumed after a crash, or posted again by another workflow, updates the bill it made instead of
adding one: no entry is ever posted twice. The correlation id goes in the `X-Correlation-ID` header
(the base transport) and in the bill's memo (the draft's memo, written by the workflow).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from opsgraph.connectors.base import UpstreamResponse
from opsgraph.connectors.errors import SourceDataError, SourceRejected
from opsgraph.connectors.ids import is_digits
from opsgraph.connectors.netsuite.host import NetSuiteHost
from opsgraph.model import SourceRef, TimePosting
from opsgraph.roles.drafts import TimePostingDraft

TIMEBILL = "timeBill"
IN_LIMIT = 1000


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _eid_path(external_id: str) -> str:
    return f"record/v1/{TIMEBILL}/{quote('eid:' + external_id, safe=':')}"


def _location_id(host: NetSuiteHost, response: UpstreamResponse) -> str:
    location = response.headers.get("Location", "")
    rid = urlsplit(location).path.rstrip("/").rsplit("/", 1)[-1]
    if not is_digits(rid):
        raise SourceDataError(host.system, f"no record id in Location {location!r}", field="Location")
    return rid


def external_id(entry: SourceRef) -> str:
    """The bill's external id: the PSA entry's id, as the ERP has always been told it."""
    return entry.id


async def _employees(host: NetSuiteHost, emails: Sequence[str]) -> dict[str, str]:
    """Active employees' internal ids by lower-cased email (asked as given and lower-cased)."""
    found: dict[str, str] = {}
    unique = sorted({*emails, *(e.lower() for e in emails)})
    for at in range(0, len(unique), IN_LIMIT):
        in_list = ", ".join(_literal(e) for e in unique[at : at + IN_LIMIT])
        rows = await host.suiteql(
            f"SELECT id, email FROM employee WHERE email IN ({in_list}) AND isinactive = 'F' ORDER BY id"
        )
        for row in rows:
            if row.get("email") and row.get("id"):
                found.setdefault(str(row["email"]).lower(), str(row["id"]))
    return found


def timebill_body(draft: TimePostingDraft, employee_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "employee": {"id": employee_id},
        "customer": {"id": draft.job_id},
        "tranDate": draft.date.isoformat(),
        "hours": draft.hours,
    }
    if draft.memo:
        body["memo"] = draft.memo
    return body


class NetSuiteWrites:
    async def post_time(
        self: NetSuiteHost, postings: Sequence[TimePostingDraft], *, idempotency_key: str
    ) -> list[TimePosting]:
        """Upsert one time bill per posting on the PSA entry's external id, in order.

        Every employee is looked up first: a person the ERP does not know is a `SourceRejected`
        before any bill is written.
        """
        employees = await _employees(self, [p.person_email for p in postings])
        unknown = sorted({p.person_email for p in postings if p.person_email.lower() not in employees})
        if unknown:
            raise SourceRejected(self.system, f"no active employee with email {', '.join(unknown)}")
        out = []
        for draft in postings:
            eid = external_id(draft.time_entry)
            response = await self.request(
                "PUT",
                _eid_path(eid),
                json=timebill_body(draft, employees[draft.person_email.lower()]),
                headers={"X-NetSuite-PropertyNameValidation": "error"},
                retry=True,  # an upsert on an external id: safe to repeat
                ok=(204,),
            )
            out.append(
                TimePosting(
                    system=self.system,
                    id=_location_id(self, response),
                    time_entry_id=eid,
                    job_id=draft.job_id,
                    date=draft.date,
                    hours=draft.hours,
                )
            )
        return out

    async def delete_time_postings(
        self: NetSuiteHost, entries: Sequence[SourceRef], *, idempotency_key: str
    ) -> int:
        """Delete the bills of these PSA entries (compensation of `post_time`): a bill that is not
        there is skipped, so it is safe to repeat and undoes a step that failed part way. Answers
        how many were deleted."""
        deleted = 0
        for entry in entries:
            try:
                await self.request("DELETE", _eid_path(external_id(entry)), retry=True, ok=(204,))
            except SourceRejected as exc:
                if exc.status == 404:
                    continue
                raise
            deleted += 1
        return deleted
