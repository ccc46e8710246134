"""The policy's field and mutation rules, decided before execution.

One graphql-core validation rule class per role set, built on first use and kept (`PolicyRules`):
the validation cache is keyed by the rule classes (strawberry #4635), so each document is
validated once per role set and a cached result never serves another role set.

- A denied mutation is a request error (FORBIDDEN): nothing runs, nothing is written.
- A denied field is reported as a `DeniedField` error, which `Authorization.on_validate` takes out
  of the validation errors (this extension runs after the validation cache's) and turns into the
  source offsets of the denied field nodes, kept in the request context. The executor
  (`execution.py`) answers those nodes with null and a FORBIDDEN error at each path, without
  resolving them; the rest of the response arrives. Documents with nothing denied (every document
  of a role allowed everything it asks) cost nothing during execution.
- `self_argument` rules (act for yourself unless a role in `for_others`) are checked on the
  operation's argument values, once per operation, before execution.

Every mutation and every denied request leaves an audit line (`audit.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationRule,
    value_from_ast_untyped,
)
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from opsgraph.auth import Caller, Role
from opsgraph.auth.policy import CompiledPolicy, Policy
from opsgraph.gateway.audit import audit_operation
from opsgraph.gateway.introspection import FORBIDDEN
from opsgraph.schema.relay import from_global_id

__all__ = ["Authorization", "DeniedField", "PolicyRules", "authorization_extension"]


class DeniedField(GraphQLError):
    """A field the caller's roles may not read: never sent, it becomes a null at each of its paths."""

    def __init__(self, node: FieldNode, coordinate: tuple[str, str], allowed: frozenset[Role]) -> None:
        super().__init__(f"{coordinate[0]}.{coordinate[1]} is denied", node, extensions={"code": FORBIDDEN})
        self.coordinate = coordinate
        self.allowed = allowed

    def at_path(self) -> GraphQLError:
        """What the client gets at each path of the field (the executor locates it)."""
        type_name, field_name = self.coordinate
        needed = ", ".join(sorted(self.allowed)) or "none"
        return GraphQLError(
            f"Not authorized to read {type_name}.{field_name} (roles allowed: {needed}).",
            extensions={"code": FORBIDDEN, "field": f"{type_name}.{field_name}"},
        )


class PolicyRules:
    """The validation rule class for each role set (and anonymity), built once each."""

    def __init__(self, policy: CompiledPolicy) -> None:
        self.policy = policy
        self._rules: dict[tuple[frozenset[Role], bool], type[ASTValidationRule]] = {}

    def for_caller(self, caller: Caller) -> type[ASTValidationRule]:
        key = (caller.roles, caller.method == "anonymous")
        rule = self._rules.get(key)
        if rule is None:
            rule = self._rules[key] = self._build(caller)
        return rule

    def _build(self, caller: Caller) -> type[ASTValidationRule]:
        denied_fields = self.policy.denied_fields(caller.roles)
        denied_mutations = self.policy.denied_mutations(caller)
        protected = self.policy.protected

        class PolicyRule(ValidationRule):
            def enter_field(self, node: FieldNode, *_args: object) -> None:
                parent = self.context.get_parent_type()
                if parent is None:
                    return
                name = node.name.value
                coordinate = (parent.name, name)
                if coordinate in denied_fields:
                    self.report_error(DeniedField(node, coordinate, protected[coordinate]))
                elif name in denied_mutations and parent is self.context.schema.mutation_type:
                    self.report_error(
                        GraphQLError(
                            f"Not authorized to call {name}.",
                            node,
                            extensions={"code": FORBIDDEN, "mutation": name},
                        )
                    )

        PolicyRule.__name__ = f"PolicyRule_{'_'.join(sorted(caller.roles)) or 'none'}"
        return PolicyRule


class Authorization(SchemaExtension):
    """Adds the caller's policy rule to each operation; see the module's docstring. Must come after
    the validation cache in the schema's extensions. A context without a caller (the gateway's own
    background jobs) is not restricted: every HTTP and WebSocket request has one (`authn.py`)."""

    policy: ClassVar[CompiledPolicy]
    rules: ClassVar[PolicyRules]

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        caller = _caller(context.context)
        if caller is not None:
            context.validation_rules = (*context.validation_rules, self.rules.for_caller(caller))
        yield
        if caller is not None:
            audit_operation(context, caller)

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        caller = _caller(context.context)
        document = context.graphql_document
        if caller is not None and document is not None:
            if context.pre_execution_errors is None:  # a document the validation cache skips
                context.pre_execution_errors = validate_document(
                    context.schema._schema, document, context.validation_rules
                )
            errors = context.pre_execution_errors
            denied = [e for e in errors if isinstance(e, DeniedField)]
            if denied and len(denied) == len(errors):
                context.pre_execution_errors = []
                context.context.denied_fields = _denied_nodes(denied)
            elif not errors:
                self._check_self(context, caller)
        yield

    def _check_self(self, context: Any, caller: Caller) -> None:
        """`self_argument` rules: a mutation for someone else needs a role in `for_others`."""
        operation = _operation(context.graphql_document, context._provided_operation_name)
        if operation is None or operation.operation is not OperationType.MUTATION:
            return
        for field in _root_fields(operation.selection_set, context.graphql_document):
            name = field.name.value
            rule = self.policy.mutations.get(name)
            if rule is None or rule.self_argument is None or caller.has_role(*rule.for_others):
                continue
            value = _argument(field, rule.self_argument, context.variables or {})
            if value is not None and not _is_self(str(value), caller, rule.self_identity):
                message = f"Not authorized to call {name} for someone else."
                if rule.self_identity == "person" and caller.person is None:
                    message += " The credentials name no person (token claim or API key `person`)."
                extensions = {"code": FORBIDDEN, "mutation": name}
                context.pre_execution_errors = [GraphQLError(message, field, extensions=extensions)]
                return


def _is_self(value: str, caller: Caller, identity: str) -> bool:
    """Whether an argument names the caller: their subject (without case), or the Resource they are
    (the argument a Resource global id; the caller's person its record key or its global id)."""
    if identity == "subject":
        return value.casefold() == caller.subject.casefold()
    if caller.person is None:
        return False
    return _resource_key(value) == _resource_key(caller.person)


def _resource_key(value: str) -> str:
    try:
        return from_global_id(value, "Resource")[1]
    except GraphQLError:
        return value  # already a record key (or malformed: then it matches nothing but itself)


def _caller(context: object) -> Caller | None:
    caller = getattr(context, "caller", None)
    return caller if isinstance(caller, Caller) else None


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            name is None or (definition.name is not None and definition.name.value == name)
        ):
            return definition
    return None


def _root_fields(selection_set: SelectionSetNode, document: DocumentNode) -> Iterator[FieldNode]:
    """The operation's root fields, through fragments (each fragment once)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    seen: set[str] = set()
    pending = [selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                seen.add(selection.name.value)
                fragment = fragments.get(selection.name.value)
                if fragment is not None:
                    pending.append(fragment.selection_set)


def _argument(field: FieldNode, path: str, variables: dict[str, Any]) -> object:
    """The value at dotted `path` in the field's arguments (variables substituted), None if absent."""
    head, *rest = path.split(".")
    node = next((arg.value for arg in field.arguments or () if arg.name.value == head), None)
    value: object = value_from_ast_untyped(node, variables) if node is not None else None
    for part in rest:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _denied_nodes(denied: list[DeniedField]) -> dict[int, GraphQLError]:
    """Source offset of each denied field node -> the error its paths get (the executor's lookup)."""
    nodes = ((node, error) for error in denied for node in error.nodes or ())
    return {node.loc.start: error.at_path() for node, error in nodes if node.loc is not None}


def authorization_extension(policy: Policy, schema: GraphQLSchema) -> type[SchemaExtension]:
    """The extension enforcing `policy` on `schema` (checked here: a `PolicyError` if it does not fit)."""
    compiled = policy.compile(schema)
    attrs = {"policy": compiled, "rules": PolicyRules(compiled)}
    return type("BoundAuthorization", (Authorization,), attrs)
