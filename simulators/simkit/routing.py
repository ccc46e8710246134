"""A vendor simulator's API routes from one table of (path, handler, method).

Each path is one Starlette route dispatching on the method, so `/_sim/stats` counts `METHOD path` per
route (the path as declared, with its parameters); a handler raising `Refused` (the vendor's refusal,
raised anywhere below it) answers the refusal's response in the vendor's error shape.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Handler = Callable[[Request], Awaitable[Response]]


class Refused(Exception):
    """A request the vendor refuses; each vendor's subclass words `response()` as the vendor does."""

    def response(self) -> Response:
        raise NotImplementedError


def refusing(handler: Handler) -> Handler:
    """`handler`, with a `Refused` raised anywhere in it answered as its `response()`."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except Refused as refused:
            return refused.response()

    return wrapped


def method_routes(prefix: str, table: Sequence[tuple[str, Handler, str]]) -> list[Route]:
    """One route per path below `prefix`, dispatching on the method to the table's handlers."""
    by_path: dict[str, dict[str, Handler]] = {}
    for path, handler, method in table:
        by_path.setdefault(path, {})[method] = refusing(handler)
    return [_route(prefix + path, handlers) for path, handlers in by_path.items()]


def _route(path: str, handlers: dict[str, Handler]) -> Route:
    async def dispatch(request: Request) -> Response:
        return await (handlers.get(request.method) or handlers["GET"])(request)

    return Route(path, dispatch, methods=list(handlers))
