"""Error and rate-limit handling, the same for every role: faults are injected through `/_sim/faults`.

- a 5xx or an outage is `SourceUnavailable`, and moves the breaker (it opens; calls stop reaching the
  vendor);
- the vendor's rate-limit signal is waited out and retried when the wait is short, and is
  `SourceRateLimited` when it is longer than the client may wait;
- a 2xx body that is not the vendor's JSON is `SourceBadResponse` (or `SourceDataError`);
- a 4xx our request earned is `SourceRejected` and does not move the breaker.

Time is a `ManualClock` shared with the simulator's rate window: waits advance it, nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from opsgraph.clock import ManualClock
from opsgraph.connectors.breaker import CircuitState
from opsgraph.connectors.errors import (
    SourceBadResponse,
    SourceDataError,
    SourceError,
    SourceRateLimited,
    SourceRejected,
    SourceUnavailable,
)

from .serving import Admin, SimServer

Call = Callable[[Any], Awaitable[Any]]
MakeClient = Callable[..., Any]


def _named(error: SourceError, client: Any) -> None:
    assert error.system == client.system, (
        f"the error names {error.system!r}, not the system {client.system!r}"
    )


async def check_server_error(make_client: MakeClient, admin: Admin, sim: SimServer, read: Call) -> None:
    client = make_client(breaker_failure_threshold=2)
    await client.probe()
    await admin.faults(error_rate=1.0)
    with pytest.raises(SourceUnavailable) as failed:
        await read(client)
    _named(failed.value, client)
    assert client.breaker.state is CircuitState.OPEN, "failing 5xx answers must open the breaker"
    mark = sim.log.mark()
    with pytest.raises(SourceUnavailable):
        await read(client)
    assert sim.log.since(mark) == [], "with the breaker open, no request may reach the vendor"


async def check_outage(make_client: MakeClient, admin: Admin, read: Call) -> None:
    client = make_client()
    await admin.faults(outage=True)
    with pytest.raises(SourceUnavailable) as failed:
        await read(client)
    _named(failed.value, client)
    with pytest.raises(SourceUnavailable):
        await client.probe()


async def check_rate_limit_retried(make_client: MakeClient, admin: Admin, sim: SimServer, read: Call) -> None:
    """One request per second allowed: the second call is limited, waits the window out and succeeds."""
    clock = ManualClock()
    client = make_client(clock=clock)
    await client.probe()  # a token, if the vendor uses one, is fetched outside the window
    with sim.shared_clock(clock):
        await admin.faults(rate_limit=1, rate_window_s=1.0)
        first = await read(client)
        mark = sim.log.mark()
        second = await read(client)
        statuses = [s.status for s in sim.log.since(mark)]
    assert second == first, "the retried call answers what the first one did"
    assert any(not 200 <= s < 300 for s in statuses), f"the simulator never limited the call: {statuses}"
    assert clock.slept and sum(clock.slept) >= 1.0, f"waited {clock.slept}, less than the 1 s window"


async def check_rate_limit_raised(make_client: MakeClient, admin: Admin, sim: SimServer, read: Call) -> None:
    """A window longer than the client may wait: `SourceRateLimited`, naming the system."""
    clock = ManualClock()
    client = make_client(clock=clock)
    await client.probe()
    with sim.shared_clock(clock):
        await admin.faults(rate_limit=0, rate_window_s=3600.0)  # every request over the limit
        with pytest.raises(SourceRateLimited) as limited:
            await read(client)
    _named(limited.value, client)


async def check_garbage(make_client: MakeClient, admin: Admin, read: Call) -> None:
    client = make_client()
    await client.probe()
    await admin.faults(garbage=True)
    with pytest.raises((SourceBadResponse, SourceDataError)) as failed:
        await read(client)
    _named(failed.value, client)


async def check_rejected(make_client: MakeClient, sim: SimServer) -> None:
    """A 4xx three times over, with a breaker that opens on the first counted failure: it stays closed.

    The 4xx is the vendor's 404 for a resource its API does not have, asked through the client's own
    `request`: port reads answer unknown ids without an error, so no read earns a 4xx.
    """
    client = make_client(breaker_failure_threshold=1)
    await client.probe()
    missing = f"{sim.url}{sim.info.api_path}/conformance-no-such-resource"
    for _ in range(3):
        mark = sim.log.mark()
        with pytest.raises(SourceRejected) as failed:
            await client.request("GET", missing)
        _named(failed.value, client)
        statuses = [s.status for s in sim.log.since(mark)]
        rejections = [s for s in statuses if 400 <= s < 500]
        assert len(rejections) == 1, f"one 4xx, not retried: the vendor answered {statuses}"
        assert all(s < 500 for s in statuses), f"the vendor answered {statuses}"
    assert client.breaker.state is CircuitState.CLOSED, "a 4xx must not move the breaker"
    await client.probe()
