"""A HubSpot CRM v3 simulator serving the world's clients and opportunities as companies and deals.

Private-app bearer auth, cursor-paged lists, batch/read with `idProperty` (207 on missing ids), the
search API with its filter limits and result cap, associations v4, HubSpot's error and 429 bodies
with the `X-HubSpot-RateLimit-*` headers, and signed v3 webhooks for UI events.
Wire contract: VENDOR_APIS_MORE.md section 1.

`SIMULATOR` joins it to a simkit `SimulatorGroup`: the CRM of the `hubspot` stack (`simkit/stacks.py`).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from opsgraph.connectors.hubspot.resources import STAGE_BY_ID
from opsgraph.connectors.hubspot.webhooks import signed_headers
from simulators.hubspot.sim_routes import HubSpotError, build_routes, error_body, policy_429
from simulators.hubspot.sim_state import PORTAL_ID, PortalState, Webhook
from simulators.simkit.admin import Faults, RateWindow, build_simulator_app, retry_after_header
from simulators.simkit.serve import SimulatorInfo
from simulators.world import World

ACCESS_TOKEN = "pat-na1-0f5c3a2e-opsgraph-sim"
CLIENT_SECRET = "sim-hubspot-client-secret"
"""The app's client secret: the gateway verifies the webhooks it is subscribed to with it."""
CREDENTIALS = {"access_token": ACCESS_TOKEN, "client_secret": CLIENT_SECRET}
API_PATH = "/crm/v3"
DEFAULT_BURST = 190  # private app, Professional: 190 requests per 10 s
DEFAULT_INTERVAL_MS = 10_000
_CATEGORY = {
    "NOT_FOUND": "OBJECT_NOT_FOUND",
    "SERVICE_UNAVAILABLE": "SERVICE_UNAVAILABLE",
    "UNKNOWN_EXCEPTION": "INTERNAL_ERROR",
    "METHOD_NOT_ALLOWED": "VALIDATION_ERROR",
}


def hs_error(status: int, category: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse(error_body(category, message, str(uuid.uuid4()), **extra), status_code=status)


def _interval_ms(faults: Faults) -> int:
    return int(faults.rate_window_s * 1000) if faults.rate_limit is not None else DEFAULT_INTERVAL_MS


class HubSpotVendor:
    """Auth, error shapes, rate-limit headers, reset and UI events of the simulated portal."""

    name = "hubspot"

    def __init__(self, world: World) -> None:
        self.state = PortalState(world)
        self.tokens = {ACCESS_TOKEN}
        self.retry_after_on_429 = False  # "some 429s carry Retry-After": off by default
        self.deliveries: list[dict[str, Any]] = []

    def check_auth(self, request: Request) -> Response | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() not in self.tokens:
            return hs_error(
                401,
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
                "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            )
        state = self.state
        state.daily_used += 1
        if state.daily_used > state.daily_limit:
            return policy_429("DAILY", "You have reached your daily limit.")
        return None

    def error(self, status: int, code: str, message: str) -> Response:
        return hs_error(status, _CATEGORY.get(code, code), message)

    def rate_limited(self, retry_after_s: float, window: RateWindow, faults: Faults) -> Response:
        response = policy_429("TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit.")
        if self.retry_after_on_429:
            response.headers["Retry-After"] = retry_after_header(retry_after_s)
        return response

    def decorate(self, response: Response, window: RateWindow, faults: Faults) -> None:
        state = self.state
        burst = faults.rate_limit if faults.rate_limit is not None else DEFAULT_BURST
        headers = response.headers
        headers["X-HubSpot-RateLimit-Daily"] = str(state.daily_limit)
        headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(max(0, state.daily_limit - state.daily_used))
        headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = str(_interval_ms(faults))
        headers["X-HubSpot-RateLimit-Max"] = str(burst)
        headers["X-HubSpot-RateLimit-Remaining"] = str(max(0, burst - window.used))

    def public_paths(self) -> Sequence[str]:
        return ()

    async def reset(self) -> None:
        self.state.load()
        self.tokens = {ACCESS_TOKEN}
        self.retry_after_on_429 = False
        self.deliveries.clear()

    async def event(self, body: dict[str, Any]) -> dict[str, Any]:
        kind = body.get("type")
        state = self.state
        if kind == "revoke_tokens":
            self.tokens.clear()
            return {"type": kind}
        if kind == "exhaust_daily_limit":
            state.daily_used = state.daily_limit
            return {"type": kind, "daily_limit": state.daily_limit}
        if kind == "set_search_cap":
            cap = body.get("cap")
            if not isinstance(cap, int) or cap < 1:
                raise ValueError("set_search_cap needs 'cap': a positive integer")
            state.search_cap = cap
            return {"type": kind, "cap": cap}
        if kind == "set_search_rate":
            rate = body.get("per_second")
            if rate is not None and (not isinstance(rate, int) or rate < 1):
                raise ValueError("set_search_rate needs 'per_second': a positive integer or null")
            state.search_rate, state.search_hits = rate, []
            return {"type": kind, "per_second": rate}
        if kind == "retry_after_on_429":
            self.retry_after_on_429 = bool(body.get("on", True))
            return {"type": kind, "on": self.retry_after_on_429}
        if kind == "subscribe_webhooks":
            url, secret = body.get("url"), body.get("client_secret")
            if not isinstance(url, str) or not isinstance(secret, str):
                raise ValueError("subscribe_webhooks needs 'url' and 'client_secret' strings")
            state.webhook = Webhook(url, secret)
            return {"type": kind, "url": url}
        if kind == "set_deal_stage":
            stage = str(body.get("stage", "closedwon"))
            if stage not in STAGE_BY_ID:
                raise ValueError(f"unknown deal stage {stage!r}")
            deal = state.set_deal_stage(str(body.get("id", "")), stage, datetime.now(UTC))
            delivered = await self._deliver(deal.id, "deal.propertyChange", "dealstage", stage)
            return {"type": kind, "id": deal.id, "delivered": delivered}
        if kind == "update_company":
            props = body.get("properties")
            if not isinstance(props, dict) or not all(isinstance(v, str) for v in props.values()):
                raise ValueError("update_company needs 'properties': an object of strings")
            company = state.update_company(str(body.get("id", "")), props, datetime.now(UTC))
            delivered = await self._deliver(company.id, "company.propertyChange", *next(iter(props.items())))
            return {"type": kind, "id": company.id, "delivered": delivered}
        raise ValueError(
            f"unknown event type {kind!r}; use set_deal_stage, update_company, subscribe_webhooks, "
            "set_search_cap, set_search_rate, exhaust_daily_limit, retry_after_on_429, revoke_tokens"
        )

    async def _deliver(self, object_id: str, subscription: str, prop: str, value: str) -> int | None:
        """POST one signed v3 webhook to the subscribed URL; its HTTP status (None: no subscriber)."""
        hook = self.state.webhook
        if hook is None:
            return None
        self.state.next_event_id += 1
        payload = [
            {
                "eventId": self.state.next_event_id,
                "subscriptionId": hook.subscription_id,
                "portalId": PORTAL_ID,
                "appId": hook.app_id,
                "occurredAt": int(time.time() * 1000),
                "subscriptionType": subscription,
                "attemptNumber": 0,
                "objectId": int(object_id),
                "propertyName": prop,
                "propertyValue": value,
                "changeSource": "CRM_UI",
                "sourceId": "userId:9580000",
            }
        ]
        raw = json.dumps(payload).encode()
        headers = signed_headers(hook.client_secret, "POST", hook.url, raw, int(time.time() * 1000))
        self.deliveries.append(payload[0])
        async with (
            aiohttp.ClientSession() as session,
            session.post(hook.url, data=raw, headers=headers) as resp,
        ):
            return resp.status


async def _hubspot_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HubSpotError)
    return hs_error(exc.status, exc.category, exc.message, subCategory=exc.sub_category, errors=exc.errors)


def create_app(world: World) -> Starlette:
    vendor = HubSpotVendor(world)
    app = build_simulator_app(vendor, build_routes(vendor.state))
    app.add_exception_handler(HubSpotError, _hubspot_error)
    return app


SIMULATOR = SimulatorInfo(vendor="hubspot", create_app=create_app, credentials=CREDENTIALS, api_path=API_PATH)
