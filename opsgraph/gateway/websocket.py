"""`/graphql` over WebSocket (graphql-transport-ws): a request error is the protocol's `error`.

Strawberry closes the socket (4400) on a syntax error or an unknown/ambiguous operation, with the
message as close reason and no `extensions.code`. Per the protocol (an `error` message "can occur
before execution starts, usually due to validation errors") this handler sends an `error`
message carrying the GraphQL errors, codes included, and keeps the connection open, as it does
for validation errors and exceeded limits.
"""

from __future__ import annotations

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.types.execution import PreExecutionError

from opsgraph.resolvers.context import RequestContext

__all__ = ["GatewayTransportWSHandler"]


class GatewayTransportWSHandler(BaseGraphQLTransportWSHandler[RequestContext, None]):
    async def _handle_pre_execution_error(
        self, operation: Operation[RequestContext, None], result: PreExecutionError
    ) -> None:
        await operation.send_initial_errors(result.errors or [])
