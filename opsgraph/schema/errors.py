"""The error contract: every GraphQL error leaves with `extensions.code`.

A system's failure adds `system` (the configured system's name), its `role` and `vendor`,
`source` (the same name, kept for clients of the single-vendor schema) and `correlationId`, with a
message of ours ("System erp-us is unavailable"): the vendor's text is logged, never sent.
Anything unexpected is masked as INTERNAL (logged with its stack, never sent). Codes follow
Apollo's names where they exist.
"""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from opsgraph.connectors.errors import SourceError
from opsgraph.context import current_correlation_id

log = logging.getLogger("opsgraph.errors")


class BadUserInput(GraphQLError):
    """An argument that is well-typed but unacceptable (a reversed date range, `first` too large)."""

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message, extensions={"code": "BAD_USER_INPUT", **extra})


def _context_correlation_id(execution_context: ExecutionContext | None) -> str:
    ctx = execution_context.context if execution_context else None
    return getattr(ctx, "correlation_id", None) or current_correlation_id()


def _system_fields(error: SourceError, execution_context: ExecutionContext | None) -> dict[str, str]:
    """`system`, and its `role` and `vendor` when the request's sources know the system."""
    fields = {"system": error.system}
    sources = getattr(execution_context.context if execution_context else None, "sources", None)
    system = sources.systems.get(error.system) if sources is not None else None
    if system is not None:
        fields.update(role=system.role.name, vendor=system.vendor)
    return fields


def annotate(error: GraphQLError, execution_context: ExecutionContext | None) -> None:
    """Give one error its `extensions.code` (and source fields), masking the unexpected."""
    ext: dict[str, Any] = dict(error.extensions or {})
    original = error.original_error
    if isinstance(original, SourceError):
        # The request's own id: a cached or shared upstream read may have failed under another request.
        request_id = _context_correlation_id(execution_context)
        ext.update(code=original.code, source=original.system, **_system_fields(original, execution_context))
        ext["correlationId"] = request_id
        if original.correlation_id != request_id:
            ext["upstreamCorrelationId"] = original.correlation_id
        error.message = original.public_message  # the vendor's text goes to the log (`log_source_errors`)
    elif isinstance(original, GraphQLError):
        ext = {**(original.extensions or {}), **ext}
    elif original is not None and "code" not in ext:
        log.error("unexpected error at %s", error.path, exc_info=original)
        error.message = "Internal server error"
        ext.update(code="INTERNAL", correlationId=_context_correlation_id(execution_context))
    if "code" not in ext:
        ext["code"] = _pre_execution_code(error)
    error.extensions = ext


def _pre_execution_code(error: GraphQLError) -> str:
    message = error.message
    if message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    if message.startswith("Variable '$") or "got invalid value" in message:
        return "BAD_USER_INPUT"
    if "does not exist in '" in message and "enum" in message.lower():
        return "BAD_USER_INPUT"
    if message.startswith("Expected value of type") or "cannot represent" in message:
        return "BAD_USER_INPUT"  # a literal of the wrong shape for its argument: a bad Date, Decimal or ID
    return "GRAPHQL_VALIDATION_FAILED"


MAX_LISTED_PATHS = 10


def _field_name(path: list[str | int]) -> str | None:
    return next((p for p in reversed(path) if isinstance(p, str)), None)


def merge_repeats(errors: list[GraphQLError]) -> list[GraphQLError]:
    """One entry per (code, system, field name): an outage under a list of 500 records is one error,
    not 500 (errors of no source, such as bad ids, merge only when their messages match too).
    The first error stands for them all (its `path` is the first path) with
    `extensions.count` (how many paths) and `extensions.paths` (the first MAX_LISTED_PATHS)."""
    merged: list[GraphQLError] = []
    groups: dict[tuple[Any, ...], list[GraphQLError]] = {}
    for error in errors:
        ext = error.extensions or {}
        if not error.path:
            merged.append(error)
            continue
        key: tuple[Any, ...] = (ext.get("code"), ext.get("source"), _field_name(error.path))
        if ext.get("source") is None:
            key += (error.message,)  # not a system's failure: each distinct message says something
        group = groups.setdefault(key, [])
        if not group:
            merged.append(error)
        group.append(error)
    for group in groups.values():
        if len(group) > 1:
            first = group[0]
            paths = [e.path for e in group[:MAX_LISTED_PATHS]]
            first.extensions = {**(first.extensions or {}), "count": len(group), "paths": paths}
    return merged


def log_source_errors(errors: list[GraphQLError]) -> None:
    """The vendor's own text of each source error, for operators: one WARNING per (merged) entry,
    under the request's correlation id. Clients see only our message (`annotate`)."""
    for error in errors:
        original = error.original_error
        if not isinstance(original, SourceError):
            continue
        ext = error.extensions or {}
        log.warning(
            "%s %s at %s (%d paths) correlation_id=%s: %s (vendor code %s, HTTP %s)",
            original.system,
            original.code,
            ".".join(map(str, error.path or ())),
            ext.get("count", 1),
            ext.get("correlationId", original.correlation_id),
            original.message,
            original.vendor_code,
            original.status,
        )


class ResponseExtensions(SchemaExtension):
    """Adds the request's warnings (for example STALE_DATA) to `extensions.warnings`."""

    def get_results(self) -> dict[str, Any]:
        ctx = self.execution_context.context
        warnings = getattr(ctx, "warnings", None)
        return {"warnings": list(warnings)} if warnings else {}
