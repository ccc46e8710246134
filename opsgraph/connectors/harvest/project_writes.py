"""Harvest writes of the PSA port used by convertOpportunity and applyChangeRequest: the project, its
people, archiving it, and its budget.

`HarvestProjectWrites` is a mixin of `HarvestClient` (`writes.HarvestWriter` holds the other
writes). Harvest has no idempotency keys and no external ids on projects, so each write checks
before it writes: a project whose code exists already is answered as it is, a client is found by
name before one is made, a person already assigned is left as they are (Harvest refuses a second
assignment). Harvest's refusals (422 `{"message"}`) are `SourceRejected`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from opsgraph.connectors.errors import SourceDataError, SourceRejected
from opsgraph.connectors.harvest.host import HarvestHost
from opsgraph.connectors.harvest.mapping import engagement_to_project_payload
from opsgraph.connectors.harvest.resources import CLIENTS
from opsgraph.connectors.ids import is_digits
from opsgraph.model import Assignment, BillingModel, Engagement
from opsgraph.roles.drafts import AssignmentDraft, BudgetChange, EngagementDraft


def _id(host: HarvestHost, body: Any, what: str) -> str:
    value = body.get("id") if isinstance(body, dict) else None
    if not isinstance(value, int):
        raise SourceDataError(host.system, f"the new {what} has no id", field="id")
    return str(value)


async def _client_id(host: HarvestHost, name: str, currency: str) -> str:
    """The Harvest client named `name`, made when there is none."""
    for client in await host.collect(CLIENTS):
        if client.get("name") == name:
            return str(client["id"])
    response = await host.request(
        "POST", CLIENTS.path, json={"name": name, "currency": currency}, retry=False, ok=(201,)
    )
    return _id(host, response.body, "client")


def _rate(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


class HarvestProjectWrites:
    async def create_engagement(
        self: HarvestHost, draft: EngagementDraft, *, idempotency_key: str
    ) -> Engagement:
        """Open the project; with a code that exists already, answer that engagement (no write)."""
        existing = (await self.engagements_by_codes([draft.code])).get(draft.code)
        if existing is not None:
            return existing
        currency = draft.contract_value.currency if draft.contract_value is not None else "USD"
        client_id = await _client_id(self, draft.client_name, currency)
        engagement = Engagement(
            system=self.system,
            id="new",
            code=draft.code,
            name=draft.name,
            psa_client_id=client_id,
            billing_model=draft.billing_model,
            hourly_rate=draft.hourly_rate,
            budget_hours=draft.budget_hours,
            start_date=draft.start_date,
            end_date=draft.end_date,
        )
        value = None if draft.contract_value is None else draft.contract_value.amount
        try:
            payload = engagement_to_project_payload(engagement, contract_value=value)
        except ValueError as exc:
            raise SourceRejected(self.system, str(exc)) from None
        response = await self.request("POST", "/v2/projects", json=payload, retry=False, ok=(201,))
        project_id = _id(self, response.body, "project")
        found = (await self.engagements_by_ids([project_id])).get(project_id)
        if found is None:
            raise SourceDataError(self.system, f"project {project_id} written but not found")
        return found

    async def archive_engagement(self: HarvestHost, engagement_id: str, *, idempotency_key: str) -> None:
        """Deactivate the project (absolute: safe to repeat; a project that is gone is left so)."""
        if not is_digits(engagement_id):
            return
        try:
            await self.request(
                "PATCH", f"/v2/projects/{engagement_id}", json={"is_active": False}, retry=True, ok=(200,)
            )
        except SourceRejected as exc:
            if exc.status != 404:
                raise

    async def assign(
        self: HarvestHost, engagement_id: str, assignments: Sequence[AssignmentDraft], *, idempotency_key: str
    ) -> list[Assignment]:
        """Assign each person not yet on the project (one already there is left as it is: Harvest
        refuses a second assignment); answers the project's assignments of these people."""
        current = (await self.assignments_by_engagement_ids([engagement_id])).get(engagement_id, [])
        assigned = {a.user_id for a in current}
        for draft in assignments:
            if draft.user_id in assigned:
                continue
            body: dict[str, Any] = {"user_id": int(draft.user_id), "budget": draft.budget_hours}
            if draft.hourly_rate is not None:
                body.update(use_default_rates=False, hourly_rate=_rate(draft.hourly_rate))
            await self.request(
                "POST", f"/v2/projects/{engagement_id}/user_assignments", json=body, retry=False, ok=(201,)
            )
        after = (await self.assignments_by_engagement_ids([engagement_id])).get(engagement_id, [])
        wanted = {d.user_id for d in assignments}
        return [a for a in after if a.user_id in wanted]

    async def set_engagement_budget(
        self: HarvestHost, engagement_id: str, change: BudgetChange, *, idempotency_key: str
    ) -> Engagement:
        """Apply a change request (absolute: safe to repeat). Harvest holds the hours in `budget`,
        a fixed fee in `fee` and a cap in `budget` (by project cost): a capped project's hours follow
        its cap, so they are not set apart; a time-and-materials project has no contract value."""
        current = (await self.engagements_by_ids([engagement_id])).get(engagement_id)
        if current is None:
            raise SourceRejected(self.system, f"no project {engagement_id}", status=404)
        body: dict[str, Any] = {}
        value = None if change.contract_value is None else float(change.contract_value.amount)
        if current.billing_model is BillingModel.CAPPED:
            if value is not None:
                body["budget"] = value
        else:
            if change.budget_hours is not None:
                body["budget"] = change.budget_hours
            if value is not None and current.billing_model is BillingModel.FIXED_FEE:
                body["fee"] = value
        if not body:
            return current
        await self.request("PATCH", f"/v2/projects/{engagement_id}", json=body, retry=True, ok=(200,))
        found = (await self.engagements_by_ids([engagement_id])).get(engagement_id)
        if found is None:
            raise SourceDataError(self.system, f"project {engagement_id} written but not found")
        return found
