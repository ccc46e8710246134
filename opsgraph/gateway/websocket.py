"""`/graphql` over WebSocket (graphql-transport-ws): a request error is the protocol's `error`.

Strawberry closes the socket (4400) on a syntax error or an unknown/ambiguous operation, with the
message as close reason and no `extensions.code`. Per the protocol (an `error` message "can occur
before execution starts, usually due to validation errors") this handler sends an `error`
message carrying the GraphQL errors, codes included, and keeps the connection open, as it does
for validation errors and exceeded limits.

Authentication: credentials in the `connection_init` payload (`Authorization: Bearer ...`,
`X-API-Key`) win over the handshake's headers (`authn.py`); with neither, the anonymous role if
configured. Otherwise the socket closes with 4403 (the protocol's "Forbidden") and the reason
`UNAUTHENTICATED: <reason>`, before `connection_ack`, so no operation runs. A connection whose
token has expired since closes the same way at its next `subscribe` (`token_expired`); operations
already running go on to their end.

Keep-alive: once acknowledged, the server sends a `ping` every `keep_alive_interval` seconds of the
view (the protocol lets either side ping; clients answer `pong`), so idle connections survive proxies
and a dead peer is noticed.
"""

from __future__ import annotations

import asyncio
import contextlib

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.types.execution import PreExecutionError

from opsgraph.auth import UNAUTHENTICATED, Authenticator, AuthFailure, credential_from_payload
from opsgraph.gateway.authn import log_failure
from opsgraph.resolvers.context import RequestContext

__all__ = ["GatewayTransportWSHandler"]


class GatewayTransportWSHandler(BaseGraphQLTransportWSHandler[RequestContext, None]):
    _pinging: asyncio.Task[None] | None = None

    async def _ping_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            await self.send_message({"type": "ping"})

    async def shutdown(self) -> None:
        if self._pinging is not None:
            self._pinging.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._pinging
        await super().shutdown()

    async def _handle_pre_execution_error(
        self, operation: Operation[RequestContext, None], result: PreExecutionError
    ) -> None:
        await operation.send_initial_errors(result.errors or [])

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        payload = message.get("payload") or {}
        authenticator: Authenticator | None = getattr(self.view, "authenticator", None)
        if authenticator is not None and not self.connection_init_received and isinstance(payload, dict):
            try:
                credential = credential_from_payload(payload)
                if credential is not None or self.context.caller is None:
                    self.context.authenticated(await authenticator.authenticate(credential))
            except AuthFailure as failure:
                log_failure(failure, "websocket")
                self.connection_init_received = True
                if self.connection_init_timeout_task:
                    self.connection_init_timeout_task.cancel()
                await self.websocket.close(code=4403, reason=f"{failure.code}: {failure.reason}")
                return
        await super().handle_connection_init(message)
        interval = getattr(self.view, "keep_alive_interval", None)
        if self.connection_acknowledged and interval and self._pinging is None:
            self._pinging = asyncio.create_task(self._ping_every(interval), name="graphql-transport-ws ping")

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        authenticator: Authenticator | None = getattr(self.view, "authenticator", None)
        caller = self.context.caller
        if authenticator is not None and caller is not None and authenticator.expired(caller):
            log_failure(AuthFailure("token_expired", "The token has expired"), "websocket")
            await self.websocket.close(code=4403, reason=f"{UNAUTHENTICATED}: token_expired")
            return
        await super().handle_subscribe(message)
