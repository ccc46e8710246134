"""Sharing a test's `ManualClock` with a simulator's rate window (the simulators run in-process)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opsgraph.clock import ManualClock
from simulators.simkit.admin import SimControl
from simulators.simkit.serve import RunningSimulator


@contextmanager
def shared_clock(sim: RunningSimulator, clock: ManualClock | None = None) -> Iterator[ManualClock]:
    """The simulator's rate window runs on `clock` inside the block: when a client on the same clock
    waits out a `Retry-After`, the window has passed for the simulator too, and no one slept."""
    clock = clock or ManualClock()
    control: SimControl = sim.app.state.control
    previous = control.clock
    control.use_clock(clock)
    try:
        yield clock
    finally:
        control.use_clock(previous)
