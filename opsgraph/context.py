"""Per-request context that every layer may read: the correlation id travels with each upstream call."""

from __future__ import annotations

import uuid
from contextvars import ContextVar

correlation_id: ContextVar[str | None] = ContextVar("opsgraph_correlation_id", default=None)


def current_correlation_id() -> str:
    """The request's correlation id, or a fresh one for work outside a request."""
    value = correlation_id.get()
    if value is None:
        value = new_correlation_id()
        correlation_id.set(value)
    return value


def new_correlation_id() -> str:
    return uuid.uuid4().hex
