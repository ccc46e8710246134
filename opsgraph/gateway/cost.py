"""The estimated cost of an operation: how many field values it would resolve, before it runs.

Each selected field costs one per time it is resolved; a list multiplies what is selected below
it by its estimated length:
- the lists of a paginated field (`clients(first: 200) { nodes { ... } }`) by its `first` (a
  literal, or a variable read per request), or the default page size without one;
- a list with a list argument (`nodes(ids: [...])`) by that argument's length;
- any other list by its declared estimate (`list_sizes`, "Type.field", or "*.field" for that
  field on any type), else `default_list_size`.
Aliases count as separate fields (30 aliases of a list cost 30 lists). `@skip`/`@include` are
ignored (an upper bound); introspection fields cost nothing (bounded by the schema's size).

A document is compiled once into a `CostPlan` (a tree of selection sets with their multipliers, each
fragment compiled once per page size it is spread under, so a chain of fragments stays linear);
a plan is evaluated per request against the request's variables, in time linear in the plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
)

from opsgraph.schema.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

__all__ = ["CostModel", "CostPlan", "Size", "compile_plan"]

PAGE_ARGUMENT = "first"


@dataclass(frozen=True, slots=True)
class Size:
    """A list's estimated length: `constant`, or read from variable `variable` per request (its
    value when `first` is set; its length when `counts_items`), `constant` when it is absent."""

    constant: int
    variable: str | None = None
    counts_items: bool = False

    def value(self, variables: Mapping[str, Any]) -> int:
        if self.variable is None or self.variable not in variables:
            return self.constant
        raw = variables[self.variable]
        if self.counts_items:
            return len(raw) if isinstance(raw, list) else self.constant
        if isinstance(raw, int) and not isinstance(raw, bool):
            return _page(raw)
        return self.constant  # not an int: execution refuses the variable anyway


ONE = Size(1)


@dataclass(slots=True)
class CostPlan:
    """One selection set: `fields` values per resolution, plus each child set times its size."""

    fields: int = 0
    children: list[tuple[Size, CostPlan]] = field(default_factory=list)

    def cost(self, variables: Mapping[str, Any]) -> int:
        return _evaluate(self, variables, {})

    @property
    def constant(self) -> bool:
        """The cost does not depend on variables (then it can be computed once)."""
        return all(size.variable is None and child.constant for size, child in self.children)


def _evaluate(plan: CostPlan, variables: Mapping[str, Any], memo: dict[int, int]) -> int:
    known = memo.get(id(plan))
    if known is not None:
        return known
    total = plan.fields
    for size, child in plan.children:
        count = size.value(variables)
        if count:
            total += count * _evaluate(child, variables, memo)
    memo[id(plan)] = total
    return total


@dataclass(frozen=True)
class CostModel:
    """The list-size estimates: "Type.field" -> length, and the length of any other list."""

    list_sizes: Mapping[str, int] = field(default_factory=dict)
    default_list_size: int = 10


def _page(value: int) -> int:
    return max(0, min(value, MAX_PAGE_SIZE))


def _unwrap(type_: GraphQLOutputType) -> tuple[bool, GraphQLNamedType]:
    """Whether the type is a list (at any level: a list of lists counts once), and its named type."""
    is_list = False
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        is_list = is_list or isinstance(type_, GraphQLList)
        type_ = type_.of_type
    return is_list, get_named_type(type_)


def compile_plan(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, model: CostModel
) -> CostPlan | None:
    """The plan of the operation `operation_name` would run; None when there is no such operation."""
    return _Compiler(schema, document, model).operation(operation_name)


class _Compiler:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, model: CostModel) -> None:
        self.schema = schema
        self.model = model
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        self._fragment_plans: dict[tuple[str, Size | None], CostPlan] = {}
        self._open: set[str] = set()
        self.defaults: dict[str, int] = {}

    def operation(self, name: str | None) -> CostPlan | None:
        chosen = [op for op in self.operations if name is None or (op.name and op.name.value == name)]
        if not chosen:
            return None
        operation = chosen[0]
        for definition in operation.variable_definitions or ():
            if isinstance(definition.default_value, IntValueNode):
                self.defaults[definition.variable.name.value] = _page(int(definition.default_value.value))
        root = {
            OperationType.QUERY: self.schema.query_type,
            OperationType.MUTATION: self.schema.mutation_type,
            OperationType.SUBSCRIPTION: self.schema.subscription_type,
        }[operation.operation]
        if root is None:
            return None
        return self.selection_set(operation.selection_set, root, None)

    def selection_set(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType, page: Size | None
    ) -> CostPlan:
        plan = CostPlan()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self.field(selection, parent, page, plan)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                if inner is not None:
                    plan.children.append((ONE, self.selection_set(selection.selection_set, inner, page)))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragment(selection.name.value, page)
                if fragment is not None:
                    plan.children.append((ONE, fragment))
        return plan

    def fragment(self, name: str, page: Size | None) -> CostPlan | None:
        key = (name, page)
        plan = self._fragment_plans.get(key)
        if plan is not None:
            return plan
        definition = self.fragments.get(name)
        if definition is None or name in self._open:
            return None  # unknown or cyclic: validation reports it
        on = self.schema.get_type(definition.type_condition.name.value)
        if on is None:
            return None
        self._open.add(name)
        plan = self._fragment_plans[key] = self.selection_set(definition.selection_set, on, page)
        self._open.discard(name)
        return plan

    def field(self, node: FieldNode, parent: GraphQLNamedType, page: Size | None, plan: CostPlan) -> None:
        name = node.name.value
        if name.startswith("__"):
            return
        definition = _field_of(parent, name)
        if definition is None:
            return
        plan.fields += 1
        if node.selection_set is None:
            return
        is_list, named = _unwrap(definition.type)
        own_page = self.page_size(node, definition)
        size = self.list_size(node, definition, parent, page, own_page) if is_list else ONE
        plan.children.append((size, self.selection_set(node.selection_set, named, own_page)))

    def page_size(self, node: FieldNode, definition: GraphQLField) -> Size | None:
        """The page size a paginated field gives the lists of the connection it returns."""
        if PAGE_ARGUMENT not in definition.args:
            return None
        value = _argument(node, PAGE_ARGUMENT)
        if isinstance(value, IntValueNode):
            return Size(_page(int(value.value)))
        if isinstance(value, VariableNode):
            variable = value.name.value
            return Size(self.defaults.get(variable, DEFAULT_PAGE_SIZE), variable)
        return Size(DEFAULT_PAGE_SIZE)

    def list_size(
        self,
        node: FieldNode,
        definition: GraphQLField,
        parent: GraphQLNamedType,
        page: Size | None,
        own_page: Size | None,
    ) -> Size:
        if own_page is not None:
            return own_page  # a paginated field that returns its list directly
        if page is not None:
            return page  # `nodes`/`edges` of a connection
        sizes = self.model.list_sizes
        declared = sizes.get(f"{parent.name}.{node.name.value}", sizes.get(f"*.{node.name.value}"))
        if declared is not None:
            return Size(declared)
        for argument in node.arguments or ():
            arg_type = definition.args.get(argument.name.value)
            if arg_type is None or not _unwrap(arg_type.type)[0]:  # type: ignore[arg-type]
                continue
            if isinstance(argument.value, ListValueNode):
                return Size(len(argument.value.values))
            if isinstance(argument.value, VariableNode):
                return Size(self.model.default_list_size, argument.value.name.value, counts_items=True)
        return Size(self.model.default_list_size)


def _field_of(parent: GraphQLNamedType, name: str) -> GraphQLField | None:
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        return parent.fields.get(name)
    return None


def _argument(node: FieldNode, name: str) -> ValueNode | None:
    for argument in node.arguments or ():
        if argument.name.value == name:
            return argument.value
    return None
