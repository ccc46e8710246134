"""What one request did, gathered as it runs: the request log line (`logs.py`) is written from it.

The correlation middleware opens a record per HTTP request; the operation span names the
operation; each upstream call counts itself. The record sits in a context variable, and loader
tasks copy the context of the resolver that started them, so they all add to the same record.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field

__all__ = ["RequestRecord", "current_record", "request_record"]


@dataclass
class RequestRecord:
    correlation_id: str
    operation_name: str | None = None
    operation_type: str | None = None
    upstream_calls: int = 0
    upstream_failures: int = 0
    systems: set[str] = field(default_factory=set)

    def upstream(self, system: str, *, ok: bool) -> None:
        self.upstream_calls += 1
        self.upstream_failures += 0 if ok else 1
        self.systems.add(system)


request_record: ContextVar[RequestRecord | None] = ContextVar("opsgraph_request_record", default=None)


def current_record() -> RequestRecord | None:
    """The running request's record, or None outside a request (a probe, a background task)."""
    return request_record.get()
