"""`POST /webhooks/<system>`: vendors' change notifications, verified by the system's connector kit.

The route knows no vendor: the system's connector (`Connector.webhooks`) checks the signature and
timestamp against the system's credentials and reads the changes; they then take the same effects
as polled ones (cache tags dropped, readiness recomputed and published). Anything that does not
verify (unknown system, a system whose vendor sends none, no secret configured, a bad signature, an
old timestamp) is a 401 with a GraphQL-shaped error (`UNAUTHENTICATED`) and changes nothing. The path
is open to the auth middleware: the signature is the credential.

The URL a signature covers is the one the vendor posted to: behind a proxy, set
`events.webhook_base_url` to the public origin (`https://graph.example.com`).
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from opsgraph.auth import UNAUTHENTICATED
from opsgraph.connectors.webhooks import WebhookRejected, WebhookRequest
from opsgraph.gateway.errors import BAD_REQUEST, error_response
from opsgraph.gateway.http import GatewayState

__all__ = ["WEBHOOK_PREFIX", "webhook_routes"]

WEBHOOK_PREFIX = "/webhooks/"

logger = logging.getLogger("opsgraph.webhooks")


def _refused(system: str, reason: str) -> Response:
    logger.warning("webhook for %s refused: %s", system, reason)
    return error_response(
        401, "The webhook is not verified", code=UNAUTHENTICATED, reason=reason, system=system
    )


def webhook_routes(state: GatewayState, *, base_url: str | None = None) -> list[Route]:
    async def receive(request: Request) -> Response:
        name = str(request.path_params["system"])
        system = state.sources.systems.get(name) if state.sources is not None else None
        kit = system.connector.webhooks if system is not None else None
        if system is None or kit is None:
            return _refused(name, "no webhooks are received for this system")
        body = await request.body()
        url = str(request.url)
        if base_url:
            url = (
                base_url.rstrip("/")
                + request.url.path
                + (f"?{request.url.query}" if request.url.query else "")
            )
        delivery = WebhookRequest(request.method, url, body, request.headers)
        try:
            kit.verify(system.spec.config.credentials, delivery, now_ms=int(state.clock.time() * 1000))
        except WebhookRejected as exc:
            return _refused(name, exc.reason)
        try:
            pushed = kit.changes(body)
        except ValueError as exc:
            return error_response(400, f"The webhook body is not understood: {exc}", code=BAD_REQUEST)
        if state.events is None:
            return error_response(503, "The gateway's events are not running", code="SOURCE_UNAVAILABLE")
        published = await state.events.push(name, pushed)
        changes = sum(len(p.changes) for p in pushed)
        return JSONResponse({"accepted": changes, "published": len(published)})

    return [Route(WEBHOOK_PREFIX + "{system}", receive, methods=["POST"], name="webhooks")]
