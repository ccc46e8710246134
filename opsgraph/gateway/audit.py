"""The audit log: one structured line on the `opsgraph.audit` logger for every mutation and every
denied request (401, a refused mutation, a denied field or introspection).

Each line says who (subject, roles, how authenticated), what (operation type and name, the SHA-256
of the document, never the variables: they may hold secrets or personal data), the correlation id
and the outcome: `ok`, `partial` (ran; only denied fields are null), `error` (ran with errors),
`refused` (a request error before execution), `forbidden` (refused by the policy),
`unauthenticated`. Fields ride on the
log record (`extra=`), so the JSON formatter (`telemetry/logs.py`) writes each as a key.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from graphql import GraphQLError, OperationType
from strawberry.types import ExecutionContext

from opsgraph.auth import AuthFailure, Caller
from opsgraph.context import current_correlation_id

__all__ = ["AUDIT_LOGGER", "audit_operation", "audit_unauthenticated", "document_hash"]

AUDIT_LOGGER = "opsgraph.audit"
FORBIDDEN = "FORBIDDEN"

log = logging.getLogger(AUDIT_LOGGER)


def document_hash(query: str | None) -> str | None:
    return None if query is None else "sha256:" + hashlib.sha256(query.encode()).hexdigest()


def _codes(errors: list[GraphQLError] | None) -> list[str]:
    return sorted({str((error.extensions or {}).get("code", "")) for error in errors or ()} - {""})


def _operation_type(context: ExecutionContext) -> str | None:
    try:
        return context.operation_type.value
    except Exception:
        return None


def audit_operation(context: ExecutionContext, caller: Caller) -> None:
    """After an operation: a line when it was a mutation or anything in it was denied."""
    kind = _operation_type(context)
    result = context.result
    errors: list[GraphQLError] = list(getattr(result, "errors", None) or context.pre_execution_errors or [])
    # strawberry keeps the execution's errors in `pre_execution_errors` too: tell them apart by shape
    before = getattr(result, "data", None) is None and all(error.path is None for error in errors)
    planned = getattr(context.context, "denied_fields", None) or {}
    denied_fields = {_extension(e, "field") for e in [*errors, *planned.values()]} - {None}
    refused = before and any(_extension(e, "code") == FORBIDDEN for e in errors)
    denied = bool(denied_fields) or refused
    if kind != OperationType.MUTATION.value and not denied:
        return
    if refused:
        outcome = "forbidden"
    elif before and errors:
        outcome = "refused"
    elif errors and all(_extension(e, "code") == FORBIDDEN for e in errors):
        outcome = "partial"  # ran; only denied fields are null
    elif errors:
        outcome = "error"
    else:
        outcome = "ok"
    fields: dict[str, Any] = {
        "audit": "denied" if denied else "mutation",
        "subject": caller.subject,
        "roles": sorted(caller.roles),
        "auth_method": caller.method,
        "operation_type": kind,
        "operation_name": context.operation_name,
        "document_hash": document_hash(context.query),
        "correlation_id": current_correlation_id(),
        "outcome": outcome,
        "error_codes": _codes(errors),
    }
    denied_coordinates = sorted(
        str(c) for c in denied_fields | {_extension(e, "mutation") for e in errors} if c
    )
    if denied_coordinates:
        fields["denied"] = denied_coordinates
    log.info("audit %s %s: %s", fields["audit"], context.operation_name or "anonymous", outcome, extra=fields)


def _extension(error: GraphQLError, name: str) -> object:
    return (error.extensions or {}).get(name)


def audit_unauthenticated(failure: AuthFailure, transport: str, path: str) -> None:
    fields = {
        "audit": "denied",
        "subject": None,
        "transport": transport,
        "path": path,
        "correlation_id": current_correlation_id(),
        "outcome": "unauthenticated",
        "reason": failure.reason,
    }
    log.info("audit denied %s request: %s", transport, failure.reason, extra=fields)
