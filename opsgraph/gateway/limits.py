"""Query limits: depth, aliases and tokens, each failing with `extensions.code = QUERY_TOO_COMPLEX`.

The depth and alias rules are graphql-core validation rules whose classes are created once, when
`limit_extensions` runs at schema build time, and bound to the `QueryLimits` class it returns.
Strawberry instantiates extensions per request (#4369; instances are deprecated); a rule class
made per request would change the key of strawberry's validation cache every time (issue #4635).

The token limit is graphql-core's own `parse(max_tokens=...)`, set through the parse options
(as strawberry's `MaxTokensLimiter` does, which keeps the parse cache working: the option is part
of its key). graphql-core reports an exceeded limit as a syntax error; `QueryLimits` re-labels it.
Limit errors come before execution, so over graphql-response+json they are a 400.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar, Protocol

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions import SchemaExtension

__all__ = [
    "QUERY_TOO_COMPLEX",
    "DepthWalk",
    "QueryLimits",
    "alias_limit_rule",
    "depth_limit_rule",
    "limit_extensions",
    "max_alias_count",
    "max_depth_of",
]

QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
_TOKEN_LIMIT_MESSAGE = "Document contains more than"


class LimitSettings(Protocol):
    max_depth: int
    max_aliases: int
    max_tokens: int


def _too_complex(message: str, limit: str, maximum: int, actual: int) -> GraphQLError:
    return GraphQLError(
        message, extensions={"code": QUERY_TOO_COMPLEX, "limit": limit, "maximum": maximum, "actual": actual}
    )


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


class DepthWalk:
    """Nesting depth of selection sets, each fragment walked once: `{ a }` is 0, `{ a { b } }` is 1
    (as graphql-depth-limit).

    A fragment's depth does not depend on where it is spread, so it is computed on its first
    spread and reused (without that, a chain of fragments each spreading the next twice costs
    2^n). `visits` counts the selections looked at: linear in the document's size.
    Introspection fields (`__schema`, `__type`) are not counted, so GraphiQL's schema query passes.
    Unknown and cyclic fragment spreads count as 0: the standard rules report those.
    """

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.visits = 0
        self._depths: dict[str, int] = {}
        self._open: set[str] = set()

    def depth(self, selection_set: SelectionSetNode | None) -> int:
        if selection_set is None:
            return 0
        deepest = 0
        for selection in selection_set.selections:
            self.visits += 1
            if isinstance(selection, FieldNode):
                if selection.name.value.startswith("__") or selection.selection_set is None:
                    continue
                deepest = max(deepest, 1 + self.depth(selection.selection_set))
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, self.depth(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                deepest = max(deepest, self._fragment_depth(selection.name.value))
        return deepest

    def _fragment_depth(self, name: str) -> int:
        if name in self._depths:
            return self._depths[name]
        fragment = self.fragments.get(name)
        if fragment is None or name in self._open:
            return 0
        self._open.add(name)
        depth = self._depths[name] = self.depth(fragment.selection_set)
        self._open.discard(name)
        return depth


def max_depth_of(
    selection_set: SelectionSetNode | None, fragments: Mapping[str, FragmentDefinitionNode]
) -> int:
    """Nesting depth below a selection set (see `DepthWalk`)."""
    return DepthWalk(fragments).depth(selection_set)


def max_alias_count(document: DocumentNode) -> int:
    """Aliased fields the document would execute, counting a fragment once per spread."""
    fragments = _fragments(document)
    memo: dict[str, int] = {}

    def count(selection_set: SelectionSetNode | None, visiting: frozenset[str]) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += (1 if selection.alias else 0) + count(selection.selection_set, visiting)
            elif isinstance(selection, InlineFragmentNode):
                total += count(selection.selection_set, visiting)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is None or name in visiting:
                    continue
                if name not in memo:
                    memo[name] = count(fragment.selection_set, visiting | {name})
                total += memo[name]
        return total

    return max((count(op.selection_set, frozenset()) for op in _operations(document)), default=0)


def depth_limit_rule(max_depth: int) -> type[ASTValidationRule]:
    class DepthLimit(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            walk = DepthWalk(_fragments(context.document))
            for operation in _operations(context.document):
                depth = walk.depth(operation.selection_set)
                if depth > max_depth:
                    name = operation.name.value if operation.name else "anonymous"
                    message = f"Operation '{name}' has depth {depth}, more than the maximum of {max_depth}."
                    context.report_error(_too_complex(message, "depth", max_depth, depth))

    return DepthLimit


def alias_limit_rule(max_aliases: int) -> type[ASTValidationRule]:
    class AliasLimit(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            count = max_alias_count(context.document)
            if count > max_aliases:
                message = f"The operation uses {count} aliases, more than the maximum of {max_aliases}."
                context.report_error(_too_complex(message, "aliases", max_aliases, count))

    return AliasLimit


class QueryLimits(SchemaExtension):
    """Adds the limit rules and the token limit to each operation. `limit_extensions` makes the
    concrete subclass, with `rules` and `max_tokens` fixed, that strawberry instantiates per request."""

    rules: ClassVar[tuple[type[ASTValidationRule], ...]] = ()
    max_tokens: ClassVar[int | None] = None

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        if self.max_tokens is not None:
            context.parse_options["max_tokens"] = self.max_tokens
        context.validation_rules = (*context.validation_rules, *self.rules)
        try:
            yield
        except GraphQLError as raised:  # a parse error raised from another extension (a parse cache)
            self._relabel(raised)
            raise

    def on_parse(self) -> Iterator[None]:
        """Relabels when parsing ends: a streamed result (WebSocket) leaves before `on_operation` ends."""
        yield
        for error in self.execution_context.pre_execution_errors or ():
            self._relabel(error)

    def _relabel(self, error: GraphQLError) -> None:
        if error.path is None and _TOKEN_LIMIT_MESSAGE in error.message:
            error.message = f"The document has more than {self.max_tokens} tokens."
            error.extensions = {
                **(error.extensions or {}),
                "code": QUERY_TOO_COMPLEX,
                "limit": "tokens",
                "maximum": self.max_tokens,
            }


def limit_extensions(settings: LimitSettings) -> list[type[SchemaExtension]]:
    """Extensions for `build_schema(extensions=...)`. The rule classes are built here, once."""
    rules = (depth_limit_rule(settings.max_depth), alias_limit_rule(settings.max_aliases))
    limits = type("BoundQueryLimits", (QueryLimits,), {"rules": rules, "max_tokens": settings.max_tokens})
    return [limits]
