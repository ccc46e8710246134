"""Cache backend health: a failure opens an outage, logged once, and the cache is bypassed for a short
while; the next operation after that probes the backend again and closes the outage when it works.

Operations overlap, so an answer may describe the backend as it was when the operation began: a
read sent before Redis died can succeed after the loss was logged, and one sent before it came
back can fail after the recovery. Each operation therefore carries the epoch it began in (`begin`),
and only an operation begun in the current epoch may change the state: one loss line and one
recovery line per outage, never a false "recovered" from a straggler.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from cashews.exceptions import CacheBackendInteractionError
from redis.exceptions import RedisError

logger = logging.getLogger("opsgraph.cache")

CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    CacheBackendInteractionError,
    RedisError,
    OSError,
    asyncio.TimeoutError,
)


class BackendHealth:
    def __init__(self, retry_s: float, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._retry_s = retry_s
        self._monotonic = monotonic
        self._down = False
        self._epoch = 0  # +1 at each loss and each recovery
        self._retry_at = 0.0
        self._reported: set[type[BaseException]] = set()

    @property
    def down(self) -> bool:
        """Whether an outage is open (it closes on the next successful operation)."""
        return self._down

    def available(self) -> bool:
        """False while the cache is being bypassed after a failure."""
        return not self._down or self._monotonic() >= self._retry_at

    def begin(self) -> int:
        """The epoch an operation begins in; hand it to `succeeded` or `failed`."""
        return self._epoch

    def succeeded(self, began: int) -> None:
        if self._down and began == self._epoch:  # a probe sent during the outage got through
            self._down = False
            self._epoch += 1
            logger.info("cache backend recovered; caching again")

    def failed(self, exc: BaseException, began: int) -> None:
        if isinstance(exc, CONNECTION_ERRORS):
            if began != self._epoch:
                return  # sent before the last change of state: says nothing about the backend now
            self._retry_at = self._monotonic() + self._retry_s
            if not self._down:
                self._down = True
                self._epoch += 1
                cause = exc.__cause__ or exc
                logger.warning(
                    "cache backend unavailable (%s: %s); reading through to the sources until it recovers",
                    type(cause).__name__,
                    cause,
                )
            return
        # not an outage (e.g. a value that cannot be pickled): report each kind once, keep caching
        if type(exc) not in self._reported:
            self._reported.add(type(exc))
            logger.warning("cache operation failed; value not cached", exc_info=exc)
