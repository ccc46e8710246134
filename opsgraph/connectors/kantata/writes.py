"""Kantata writes of the PSA port: workspaces (with their code and billing model custom fields),
participations, time entries in batches of up to 100, and invoicing time.

`KantataWrites` is a mixin of `KantataClient`. Kantata has no idempotency keys, so each write checks
before it writes: a workspace whose code exists is answered as it is, and one carrying the key as its
external reference is completed, not made again; a user already participating is
left as they are (Kantata refuses a second participation); each time entry carries an external
reference `<idempotency key>:<position>`, and the entries already made under the key are answered
instead of written again; an entry already invoiced is not invoiced again. Writes are never retried.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol

from opsgraph.connectors.base import UpstreamResponse
from opsgraph.connectors.errors import SourceDataError, SourceRejected
from opsgraph.connectors.kantata.mapping import kantata_id
from opsgraph.connectors.kantata.resources import (
    BILLING_MODELS,
    INVOICES,
    MAX_BATCH,
    PARTICIPATIONS,
    STORIES,
    TIME_ENTRIES,
    WORKSPACES,
)
from opsgraph.connectors.toolkit.chunks import chunks
from opsgraph.model import Assignment, Engagement, SourceRef, TimeEntry
from opsgraph.roles.drafts import AssignmentDraft, BudgetChange, EngagementDraft, TimeEntryDraft

CUSTOM_FIELD_IDS = {"code": "101", "billing_model": "102"}
"""The workspace custom fields' ids in the firm's Kantata account (its configuration, not the API's)."""
SERVICE = "opsgraph"
LABELS = {model: label for label, model in BILLING_MODELS.items()}


class _Host(Protocol):
    @property
    def system(self) -> str: ...

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        retry: bool | None = None,
        ok: Collection[int] = (200,),
    ) -> UpstreamResponse: ...

    async def engagements_by_codes(self, codes: Iterable[str]) -> Mapping[str, Engagement]: ...

    async def engagements_by_ids(self, ids: Iterable[str]) -> Mapping[str, Engagement]: ...

    async def assignments_by_engagement_ids(self, ids: Iterable[str]) -> Mapping[str, list[Assignment]]: ...

    async def time_entries_by_ids(self, ids: Iterable[str]) -> Mapping[str, TimeEntry]: ...

    async def pages(self, spec: Any, params: Mapping[str, str] | None = None) -> list[Mapping[str, Any]]: ...


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def _written_ids(host: _Host, body: Any, key: str) -> list[str]:
    results = body.get("results") if isinstance(body, Mapping) else None
    if not isinstance(results, list):
        raise SourceDataError(host.system, f"the {key} written come back without results", field="results")
    return [str(r.get("id")) for r in results if isinstance(r, Mapping) and r.get("key") == key]


def _vendor_id(host: _Host, value: str, what: str) -> str:
    if kantata_id(value) is None:
        raise SourceRejected(host.system, f"not a Kantata {what} id: {value!r}")
    return value


def _workspace(draft: EngagementDraft, reference: str) -> dict[str, Any]:
    value = draft.contract_value
    price = value.amount if value is not None else None
    if price is None and draft.budget_hours is not None and draft.hourly_rate is not None:
        price = Decimal(str(draft.budget_hours)) * draft.hourly_rate
    return {
        "title": draft.name,
        "budgeted": price is not None,
        "price_in_cents": None if price is None else _cents(price),
        "currency": value.currency if value is not None else "USD",
        "default_rate": None if draft.hourly_rate is None else f"{draft.hourly_rate:.2f}",
        "start_date": None if draft.start_date is None else draft.start_date.isoformat(),
        "due_date": None if draft.end_date is None else draft.end_date.isoformat(),
        "external_reference": {"service_name": SERVICE, "service_model_ref": reference},
    }


async def _workspace_by_reference(host: _Host, reference: str) -> str | None:
    """The id of the workspace made under `reference` (archived ones included), if any."""
    params = {"external_reference": reference, "include_archived": "true"}
    ids = sorted(
        (
            str(w["id"])
            for page in await host.pages(WORKSPACES, params)
            for w in (page.get("workspaces") or {}).values()
        ),
        key=int,
    )
    return ids[0] if ids else None


async def _engagement(host: _Host, workspace_id: str) -> Engagement:
    found = (await host.engagements_by_ids([workspace_id])).get(workspace_id)
    if found is None:
        raise SourceDataError(host.system, f"workspace {workspace_id} written but not found")
    return found


class KantataWrites:
    async def create_engagement(self: _Host, draft: EngagementDraft, *, idempotency_key: str) -> Engagement:
        """Open the workspace (external reference: the idempotency key), then set its code and billing
        model: two writes. A workspace whose code exists is answered as it is; one made under the key
        whose fields were never set (a step that died between the writes, then resumed) is completed,
        not made a second time."""
        existing = (await self.engagements_by_codes([draft.code])).get(draft.code)
        if existing is not None:
            return existing
        workspace_id = await _workspace_by_reference(self, idempotency_key)
        if workspace_id is None:
            response = await self.request(
                "POST",
                WORKSPACES.path,
                json={"workspaces": [_workspace(draft, idempotency_key)]},
                retry=False,
                ok=(200, 201),
            )
            workspace_id = _written_ids(self, response.body, "workspaces")[0]
        fields = {"code": draft.code, "billing_model": LABELS[draft.billing_model.value]}
        values = [
            {
                "subject_type": "Workspace",
                "subject_id": workspace_id,
                "custom_field_id": CUSTOM_FIELD_IDS[k],
                "value": v,
            }
            for k, v in fields.items()
        ]
        await self.request(  # absolute values: setting them again is harmless
            "POST",
            "/custom_field_values.json",
            json={"custom_field_values": values},
            retry=False,
            ok=(200, 201),
        )
        return await _engagement(self, workspace_id)

    async def engagement_opened(self: _Host, *, idempotency_key: str) -> str | None:
        """The workspace `create_engagement` opened under the key, with its fields set or not (for the
        compensation of a creation that failed between its two writes)."""
        return await _workspace_by_reference(self, idempotency_key)

    async def archive_engagement(self: _Host, engagement_id: str, *, idempotency_key: str) -> None:
        """Archive the workspace (absolute: safe to repeat; a workspace that is gone is left so)."""
        if kantata_id(engagement_id) is None:
            return
        try:
            await self.request(
                "PUT", f"/workspaces/{engagement_id}.json", json={"workspace": {"archived": True}}, retry=True
            )
        except SourceRejected as exc:
            if exc.status != 404:
                raise

    async def set_engagement_budget(
        self: _Host, engagement_id: str, change: BudgetChange, *, idempotency_key: str
    ) -> Engagement:
        """The workspace's price: the new contract value, or the budget hours at its default rate."""
        current = await _engagement(self, _vendor_id(self, engagement_id, "workspace"))
        if change.contract_value is not None:
            price: Decimal | None = change.contract_value.amount
        elif change.budget_hours is not None and current.hourly_rate:
            price = Decimal(str(change.budget_hours)) * current.hourly_rate
        else:
            price = None
        if price is not None:
            body = {"workspace": {"price_in_cents": _cents(price), "budgeted": True}}
            await self.request("PUT", f"/workspaces/{engagement_id}.json", json=body, retry=True)
        return await _engagement(self, engagement_id)

    async def assign(
        self: _Host, engagement_id: str, assignments: Sequence[AssignmentDraft], *, idempotency_key: str
    ) -> list[Assignment]:
        """Add each user not yet participating, in one batch; answers the participations of these users."""
        workspace_id = _vendor_id(self, engagement_id, "workspace")
        current = (await self.assignments_by_engagement_ids([workspace_id])).get(workspace_id, [])
        present = {a.user_id for a in current}
        new = [
            {
                "workspace_id": workspace_id,
                "user_id": _vendor_id(self, d.user_id, "user"),
                "role": "maven",
                "rate_in_cents": None if d.hourly_rate is None else _cents(d.hourly_rate),
                "estimated_minutes": None if d.budget_hours is None else round(d.budget_hours * 60),
            }
            for d in assignments
            if d.user_id not in present
        ]
        for batch in chunks(new, MAX_BATCH):
            await self.request(
                "POST", PARTICIPATIONS.path, json={"participations": list(batch)}, retry=False, ok=(200, 201)
            )
        after = (await self.assignments_by_engagement_ids([workspace_id])).get(workspace_id, [])
        wanted = {d.user_id for d in assignments}
        return [a for a in after if a.user_id in wanted]

    async def submit_time_entries(
        self: _Host, entries: Sequence[TimeEntryDraft], *, idempotency_key: str
    ) -> list[TimeEntry]:
        """Create the entries in batches of up to 100, each with the external reference `<key>:<n>`; the
        entries already made under the key are answered, not written again."""
        refs = [f"{idempotency_key}:{n}" for n in range(len(entries))]
        made = await _by_reference(self, refs)
        missing = [(ref, draft) for ref, draft in zip(refs, entries, strict=True) if ref not in made]
        stories = await _stories(self, {d.engagement_id for _, d in missing if d.task})
        for batch in chunks(missing, MAX_BATCH):
            body = [
                {
                    "workspace_id": _vendor_id(self, d.engagement_id, "workspace"),
                    "user_id": _vendor_id(self, d.user_id, "user"),
                    "date_performed": d.date.isoformat(),
                    "time_in_minutes": round(d.hours * 60),
                    "notes": d.notes,
                    "story_id": stories.get((d.engagement_id, d.task or "")),
                    "external_reference": {"service_name": SERVICE, "service_model_ref": ref},
                }
                for ref, d in batch
            ]
            await self.request(
                "POST", TIME_ENTRIES.path, json={"time_entries": body}, retry=False, ok=(200, 201)
            )
        if missing:
            made = await _by_reference(self, refs)
        return [made[ref] for ref in refs if ref in made]

    async def withdraw_time_entries(
        self: _Host, entries: Sequence[TimeEntryDraft], *, idempotency_key: str
    ) -> list[str]:
        """Delete the entries `submit_time_entries(entries, idempotency_key=...)` made (those made before
        a failure part way included): the workflow's compensation. Answers their ids; safe to repeat."""
        made = await _by_reference(self, [f"{idempotency_key}:{n}" for n in range(len(entries))])
        for entry in made.values():
            try:
                await self.request("DELETE", f"/time_entries/{entry.id}.json", retry=True, ok=(200, 204))
            except SourceRejected as exc:
                if exc.status != 404:
                    raise
        return [entry.id for entry in made.values()]

    async def mark_time_entries_billed(
        self: _Host, entry_ids: Sequence[str], invoice: SourceRef, *, idempotency_key: str
    ) -> None:
        """Invoice in Kantata the entries not yet invoiced, one invoice per workspace, referencing the ERP
        invoice (`<system>:<id>`): absolute, so a repeat writes nothing."""
        found = await self.time_entries_by_ids(entry_ids)
        by_workspace: dict[str, list[str]] = {}
        for entry in found.values():
            if entry.invoice_id is None:
                by_workspace.setdefault(entry.engagement_id, []).append(entry.id)
        if not by_workspace:
            return
        body = [
            {"workspace_ids": [w], "time_entry_ids": ids, "your_reference": str(invoice)}
            for w, ids in sorted(by_workspace.items())
        ]
        for batch in chunks(body, MAX_BATCH):
            await self.request(
                "POST", INVOICES.path, json={"invoices": list(batch)}, retry=False, ok=(200, 201)
            )


async def _by_reference(host: _Host, refs: Sequence[str]) -> dict[str, TimeEntry]:
    """The entries carrying these external references, by reference."""
    out: dict[str, TimeEntry] = {}
    for chunk in chunks(list(refs), MAX_BATCH):
        pages = await host.pages(TIME_ENTRIES, {"external_reference": ",".join(chunk)})
        ids: dict[str, str] = {}
        for page in pages:
            for record in (page.get("time_entries") or {}).values():
                ref = record.get("external_reference")
                if isinstance(ref, Mapping) and isinstance(ref.get("service_model_ref"), str):
                    ids[str(record["id"])] = ref["service_model_ref"]
        entries = await host.time_entries_by_ids(ids)
        for entry_id, entry in entries.items():
            out[ids[entry_id]] = entry
    return out


async def _stories(host: _Host, workspace_ids: set[str]) -> dict[tuple[str, str], str]:
    """(workspace id, story title) -> story id, for the workspaces entries are logged to with a task."""
    wanted = sorted(i for i in workspace_ids if kantata_id(i) is not None)
    out: dict[tuple[str, str], str] = {}
    for chunk in chunks(wanted, MAX_BATCH):
        for page in await host.pages(STORIES, {"workspace_id": ",".join(chunk)}):
            for story in (page.get("stories") or {}).values():
                out.setdefault((str(story["workspace_id"]), str(story["title"])), str(story["id"]))
    return out
