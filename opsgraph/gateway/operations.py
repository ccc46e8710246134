"""Which operation to run: a document with several operations needs `operationName`, and a
named operation must exist.

Strawberry runs the first operation when none is named; GraphQL (GetOperation) and the
GraphQL-over-HTTP spec make that a request error. The check runs once the document is parsed,
before strawberry picks the operation. Its errors carry `extensions.code`, which graphql-core copies to the
GraphQLError strawberry wraps them in: a 400 over HTTP, an `error` message over WebSocket.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import OperationDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError

__all__ = ["OPERATION_NAME_REQUIRED", "OperationChoiceError", "OperationNameRequired"]

OPERATION_NAME_REQUIRED = "OPERATION_NAME_REQUIRED"


class OperationChoiceError(CannotGetOperationTypeError):
    """No operation to run: several and none named, or the named one is not there."""

    def __init__(self, name: str | None, count: int) -> None:
        super().__init__(name)
        self.count = count
        self.code = "BAD_REQUEST" if name is not None else OPERATION_NAME_REQUIRED
        self.extensions = {"code": self.code}

    def as_http_error_reason(self) -> str:
        if self.operation_name is not None:
            return f'Unknown operation named "{self.operation_name}".'
        return f"The document has {self.count} operations: say which to run with operationName."


class OperationNameRequired(SchemaExtension):
    def on_parse(self) -> Iterator[None]:
        yield  # the check needs the parsed document, and must come before strawberry picks the operation
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            name = context._provided_operation_name
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            if name is None and len(operations) > 1:
                raise OperationChoiceError(None, len(operations))
            if name is not None and all(op.name is None or op.name.value != name for op in operations):
                raise OperationChoiceError(name, len(operations))
