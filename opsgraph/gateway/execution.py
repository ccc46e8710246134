"""Two per-response budgets enforced while the query executes: a deadline and a size cap.

`gateway_executor` makes the graphql-core executor class (strawberry's `execution_context_class`)
with both bound; graphql-core makes one executor per request.

Deadline (`request_timeout_s`): every resolver await goes through `with_abort_signal`, so that is
where time is checked: a resolver due to start after the deadline (on the injected clock's
`monotonic`) never starts, and one still awaiting at the deadline (a loop timer) is cancelled.
Its field is null with `SOURCE_TIMEOUT` at its path; what finished stays.

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
import time
from collections.abc import Awaitable
from typing import Any, ClassVar, TypeVar

from graphql import GraphQLError, GraphQLOutputType, is_leaf_type, is_non_null_type
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from opsgraph.clock import Clock

__all__ = ["RESPONSE_TOO_LARGE", "SOURCE_TIMEOUT", "GatewayExecutor", "gateway_executor", "json_size"]

RESPONSE_TOO_LARGE = "RESPONSE_TOO_LARGE"
SOURCE_TIMEOUT = "SOURCE_TIMEOUT"
_ERROR_RESERVE_BYTES = 64 * 1024
T = TypeVar("T")


def json_size(value: Any) -> int:
    """Compact-JSON bytes of a leaf value (ASCII strings estimated without escapes)."""
    if isinstance(value, str):
        return len(value) + 2 if value.isascii() else len(json.dumps(value))
    if value is None or value is True:
        return 4
    if value is False:
        return 5
    return len(str(value))


class GatewayExecutor(StrawberryGraphQLCoreExecutionContext):
    clock: ClassVar[Clock]
    request_timeout_s: ClassVar[float]
    max_response_bytes: ClassVar[int]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = self.clock.monotonic() + self.request_timeout_s
        # One loop-time instant for every wait, so all timers at the deadline fire together.
        self.loop_deadline = time.monotonic() + self.request_timeout_s  # asyncio's loop.time()
        self.response_bytes = 0
        self.data_limit = self.max_response_bytes - min(self.max_response_bytes // 4, _ERROR_RESERVE_BYTES)
        self.cut = False

    # -- deadline ------------------------------------------------------------------------------

    async def with_abort_signal(self, awaitable: Awaitable[T]) -> T:
        if self.clock.monotonic() >= self.deadline:
            _discard(awaitable)
            raise self._timed_out()
        try:
            async with asyncio.timeout_at(self.loop_deadline):
                return await super().with_abort_signal(awaitable)
        except TimeoutError:
            raise self._timed_out() from None
        except asyncio.CancelledError:
            # A load shared with a field cancelled at the deadline; not this request's cancellation.
            task = asyncio.current_task()
            if asyncio.get_running_loop().time() >= self.loop_deadline and task and not task.cancelling():
                raise self._timed_out() from None
            raise

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
        if not is_non_null_type(return_type):
            self._spend(return_type, path, result)
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)

    def _spend(self, return_type: GraphQLOutputType, path: Path, result: Any) -> None:
        if self.cut:
            raise self._too_large()
        size = len(path.key) + 4 if isinstance(path.key, str) else 1  # `"key":` and a comma
        if result is None or isinstance(result, Exception):
            size += 4
        elif is_leaf_type(return_type):
            size += json_size(result)  # before serialization: enums and custom scalars estimated
        else:
            size += 2  # `{}` or `[]`
        self.response_bytes += size
        if self.response_bytes > self.data_limit:
            self.cut = True
            raise self._too_large()

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
