"""Which operation to run: a document with several operations needs `operationName`.

Strawberry runs the first operation when none is named; GraphQL (GetOperation) and the
GraphQL-over-HTTP spec make that a request error. The check runs once the document is parsed,
before validation, and ends the request the way an unknown `operationName` does (a 400).
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import OperationDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError

__all__ = ["OPERATION_NAME_REQUIRED", "OperationNameRequired", "OperationNameRequiredError"]

OPERATION_NAME_REQUIRED = "OPERATION_NAME_REQUIRED"


class OperationNameRequiredError(CannotGetOperationTypeError):
    code = OPERATION_NAME_REQUIRED

    def __init__(self, count: int) -> None:
        super().__init__(None)
        self.count = count

    def as_http_error_reason(self) -> str:
        return f"The document has {self.count} operations: say which to run with operationName."


class OperationNameRequired(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context._provided_operation_name is None:
            count = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
            if count > 1:
                raise OperationNameRequiredError(count)
        yield
