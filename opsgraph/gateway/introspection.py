"""Introspection (`__schema`, `__type`) for whom: everyone when `introspection` is on (the demo),
else only callers with the `admin` role; others get a FORBIDDEN request error.

A validation rule added per operation for non-admin callers, as `limits.py` adds its rules: the
validation cache is keyed by the rule set, so each document is validated once with the rule and
once without, and a cached admin result never serves anyone else. `__typename` stays allowed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from graphql import FieldNode, GraphQLError, ValidationRule, get_named_type, is_introspection_type
from strawberry.extensions import SchemaExtension

from opsgraph.auth import Caller, Role

__all__ = ["FORBIDDEN", "IntrospectionGate", "NoIntrospection", "introspection_extension"]

FORBIDDEN = "FORBIDDEN"


class NoIntrospection(ValidationRule):
    """graphql-core's NoSchemaIntrospectionCustomRule, reported once per document with a code."""

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.reported = False

    def enter_field(self, node: FieldNode, *_args: object) -> None:
        field_type = self.context.get_type()
        if self.reported or field_type is None or not is_introspection_type(get_named_type(field_type)):
            return
        self.reported = True
        self.report_error(
            GraphQLError(
                f"Introspection ('{node.name.value}') needs the admin role on this gateway.",
                node,
                extensions={"code": FORBIDDEN},
            )
        )


class IntrospectionGate(SchemaExtension):
    allowed: ClassVar[bool] = False

    def on_operation(self) -> Iterator[None]:
        if not self.allowed:
            caller = getattr(self.execution_context.context, "caller", None)
            if not (isinstance(caller, Caller) and caller.has_role(Role.ADMIN)):
                context = self.execution_context
                context.validation_rules = (*context.validation_rules, NoIntrospection)
        yield


def introspection_extension(allowed: bool) -> type[SchemaExtension]:
    return type("BoundIntrospectionGate", (IntrospectionGate,), {"allowed": allowed})
