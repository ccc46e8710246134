"""One span per GraphQL operation (never one per field), and the operation's name on the request record.

A sync `on_operation` hook: the span is made current for parsing, validation and execution, so
loader and upstream spans are its children. Strawberry's own `OpenTelemetryExtension` is not used:
it is async and spans every resolver, which costs more than the queries it watches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from graphql import GraphQLError
from opentelemetry import context, trace
from opentelemetry.trace import Status, StatusCode
from strawberry.extensions import SchemaExtension

from opsgraph.context import current_correlation_id
from opsgraph.telemetry.record import current_record

__all__ = ["OperationSpan", "document_hash"]

_tracer = trace.get_tracer("opsgraph.graphql")


def document_hash(query: str | None) -> str | None:
    """The SHA-256 of the document text (what persisted-query ids use), never the text itself."""
    return hashlib.sha256(query.encode("utf-8")).hexdigest() if query else None


class OperationSpan(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        span = _tracer.start_span("graphql.operation", kind=trace.SpanKind.INTERNAL)
        span.set_attribute("opsgraph.correlation_id", current_correlation_id())
        digest = document_hash(self.execution_context.query)
        if digest is not None:
            span.set_attribute("graphql.document.hash", digest)
        token = context.attach(trace.set_span_in_context(span))
        try:
            yield
        finally:
            context.detach(token)
            self._finish(span)

    def _finish(self, span: trace.Span) -> None:
        ctx = self.execution_context
        name = ctx.operation_name
        try:
            kind: str | None = ctx.operation_type.value
        except Exception:  # no operation could be chosen (a syntax error, several and none named)
            kind = None
        if name:
            span.set_attribute("graphql.operation.name", name)
        if kind:
            span.set_attribute("graphql.operation.type", kind)
        span.update_name(" ".join(part for part in (kind or "graphql", name) if part))
        errors: list[GraphQLError] = list(ctx.pre_execution_errors or [])
        if ctx.result is not None and ctx.result.errors:
            errors += ctx.result.errors
        span.set_attribute("graphql.errors", len(errors))
        if ctx.pre_execution_errors:
            span.set_status(Status(StatusCode.ERROR, "request error"))
        span.end()
        record = current_record()
        if record is not None:
            record.operation_name, record.operation_type = name, kind
