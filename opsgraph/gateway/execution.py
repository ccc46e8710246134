"""Two per-response budgets enforced while the query executes, a deadline and a size cap, and the
fields the authorization policy denies the caller (null with FORBIDDEN, never resolved).

`gateway_executor` makes the graphql-core executor class (strawberry's `execution_context_class`)
with both bound; graphql-core makes one executor per request. Both checks sit on the executor's
hottest paths (every resolver await, every completed value), so they are kept to a few
attribute reads there: one loop timer per request, not one per await, and no helper calls.

Deadline (`request_timeout_s`): a resolver due to start after the deadline (on the injected
clock's `monotonic`) never starts. The tasks awaiting a resolver are registered; one loop timer at
the deadline cancels them, and each turns the cancellation into `SOURCE_TIMEOUT` at its path.
What finished stays.

Size (`max_response_bytes`): each value adds its compact-JSON size (key, brackets, leaf text) as
it completes. The value that crosses the cap, and every value after it, is cut: null with
`RESPONSE_TOO_LARGE` at its path (non-null positions null their nearest nullable parent, so a
cut list costs one error). Data stops short of the cap, by a quarter of it or 64 KiB whichever
is less, to leave room for the cut errors (about 200 bytes each): the body stays under the cap
unless hundreds of paths are cut.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

from graphql import GraphQLError, GraphQLNonNull, GraphQLObjectType, GraphQLOutputType
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from opsgraph.clock import Clock

__all__ = ["RESPONSE_TOO_LARGE", "SOURCE_TIMEOUT", "GatewayExecutor", "gateway_executor"]

RESPONSE_TOO_LARGE = "RESPONSE_TOO_LARGE"
SOURCE_TIMEOUT = "SOURCE_TIMEOUT"
_ERROR_RESERVE_BYTES = 64 * 1024
T = TypeVar("T")


def _str_size(value: str) -> int:
    return len(value) + 2 if value.isascii() else len(json.dumps(value))


def _text_size(value: object) -> int:
    return len(str(value))


# Leaf classes by how their JSON is sized (a dict lookup per value: this runs for every value);
# any other value (object, list, enum member) counts 2, its brackets or an estimate.
_LEAF_SIZES: dict[type, Callable[[Any], int]] = {
    str: _str_size,
    int: _text_size,
    float: _text_size,
    Decimal: _text_size,
    date: _text_size,
    datetime: _text_size,
    bool: lambda value: 4 if value else 5,
}


class GatewayExecutor(StrawberryGraphQLCoreExecutionContext):
    clock: ClassVar[Clock]
    request_timeout_s: ClassVar[float]
    max_response_bytes: ClassVar[int]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = self.clock.monotonic() + self.request_timeout_s
        self.expired = False
        self.awaiting: set[asyncio.Task[Any]] = set()
        self.timer: asyncio.TimerHandle | None = None
        self.response_bytes = 0
        self.data_limit = self.max_response_bytes - min(self.max_response_bytes // 4, _ERROR_RESERVE_BYTES)
        self.cut = False
        self.denied: Mapping[int, GraphQLError] = getattr(self.context_value, "denied_fields", None) or {}
        if self.denied:  # only then: a document with nothing denied runs graphql-core's own method
            self.execute_field = self._execute_allowed_field  # type: ignore[method-assign]

    # -- denied fields (`authorization.py`) ----------------------------------------------------

    def _execute_allowed_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        """A field the policy denies the caller is null with FORBIDDEN at its path, never resolved."""
        node = field_details_list[0].node
        error = self.denied.get(node.loc.start) if node.loc is not None else None
        if error is None:
            return super().execute_field(parent_type, source, field_details_list, path, position_context)
        field_def = self.schema.get_field(parent_type, node.name.value)
        return_type = field_def.type if field_def is not None else GraphQLNonNull(parent_type)
        self.handle_field_error(error, return_type, field_details_list, path)
        return None

    # -- deadline ------------------------------------------------------------------------------

    async def with_abort_signal(self, awaitable: Awaitable[T]) -> T:
        if self.expired or self.clock.monotonic() >= self.deadline:
            _discard(awaitable)
            raise self._timed_out()
        task = asyncio.current_task()
        if task is None or task in self.awaiting:  # not a task, or one already watched
            return await awaitable
        if self.timer is None:
            self._start_timer()
        self.awaiting.add(task)
        try:
            return await awaitable
        except asyncio.CancelledError:
            if self.expired and task.uncancel() == 0:  # ours alone, not the request's own
                raise self._timed_out() from None
            raise
        finally:
            self.awaiting.discard(task)

    def _start_timer(self) -> None:
        loop = asyncio.get_running_loop()
        remaining = max(0.0, self.deadline - self.clock.monotonic())
        self.timer = loop.call_at(loop.time() + remaining, self._expire)

    def _expire(self) -> None:
        self.expired = True
        for task in self.awaiting:
            task.cancel()

    def build_response(self, data: dict[str, Any] | None) -> Any:
        if self.timer is not None:  # the request is done: release it now, not at the deadline
            self.timer.cancel()
        return super().build_response(data)

    def _timed_out(self) -> GraphQLError:
        message = f"The request's deadline of {self.request_timeout_s:g} s passed before this was resolved."
        return GraphQLError(message, extensions={"code": SOURCE_TIMEOUT})

    # -- size ----------------------------------------------------------------------------------

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: Any,
        info: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        # A non-null type is completed twice (wrapper, then inner type): count the inner one only.
        if return_type.__class__ is not GraphQLNonNull:
            if self.cut:
                raise self._too_large()
            key = path.key
            size = len(key) + 4 if key.__class__ is str else 1  # `"key":` and a comma
            leaf = _LEAF_SIZES.get(result.__class__)
            self.response_bytes += size + (leaf(result) if leaf is not None else 4 if result is None else 2)
            if self.response_bytes > self.data_limit:
                self.cut = True
                raise self._too_large()
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)

    def _too_large(self) -> GraphQLError:
        message = f"The response reached the limit of {self.max_response_bytes} bytes; the rest is cut."
        return GraphQLError(message, extensions={"code": RESPONSE_TOO_LARGE})


def _discard(awaitable: Awaitable[Any]) -> None:
    close = getattr(awaitable, "close", None)  # a coroutine never started
    if close is not None:
        close()
    elif isinstance(awaitable, asyncio.Future):
        awaitable.cancel()


def gateway_executor(
    clock: Clock, *, request_timeout_s: float, max_response_bytes: int
) -> type[GatewayExecutor]:
    """The executor class for one schema, with its clock and budgets bound."""
    attrs = {"clock": clock, "request_timeout_s": request_timeout_s, "max_response_bytes": max_response_bytes}
    return type("BoundGatewayExecutor", (GatewayExecutor,), attrs)
