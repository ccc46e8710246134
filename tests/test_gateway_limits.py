"""Query limits on a small schema of its own: depth, aliases, tokens; the validation cache still hits."""

from __future__ import annotations

from typing import Any

import pytest
import strawberry
from graphql import FragmentDefinitionNode, OperationDefinitionNode, get_introspection_query, parse
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache
from strawberry.extensions.validation_cache import _get_validate_cache

from opsgraph.gateway.limits import DepthWalk, QueryLimits, limit_extensions, max_alias_count, max_depth_of
from opsgraph.gateway.settings import load_settings


@strawberry.type
class Item:
    name: str = "item"

    @strawberry.field
    def child(self) -> Item:
        return Item()


@strawberry.type
class Query:
    @strawberry.field
    def item(self) -> Item:
        return Item()


def make_schema(
    *extra: type[SchemaExtension], depth: int = 3, aliases: int = 2, tokens: int = 60
) -> strawberry.Schema:
    settings = load_settings(require_sources=False, max_depth=depth, max_aliases=aliases, max_tokens=tokens)
    return strawberry.Schema(Query, extensions=[*limit_extensions(settings), *extra])


def depth(query: str) -> int:
    definitions = parse(query).definitions
    fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    return max(max_depth_of(op.selection_set, fragments) for op in operations)


def test_depth_counts_nesting_below_the_root() -> None:
    assert depth("{ item { name } }") == 1
    assert depth("{ item { child { child { name } } } }") == 3
    assert depth("{ item { ...F } } fragment F on Item { child { child { name } } }") == 3
    assert depth("{ item { ... on Item { child { name } } } }") == 2
    assert depth("{ __schema { types { fields { type { ofType { name } } } } } }") == 0


def test_depth_survives_cyclic_and_unknown_fragments() -> None:
    assert depth("{ item { ...A } } fragment A on Item { child { ...A } }") == 2
    assert depth("{ item { ...Missing } }") == 1


def test_aliases_count_every_spread_of_a_fragment() -> None:
    assert max_alias_count(parse("{ a: item { name } b: item { n: name } }")) == 3
    doc = parse("{ item { ...F ...F child { ...F } } } fragment F on Item { x: name y: name }")
    assert max_alias_count(doc) == 6


def fragment_chain(length: int) -> str:
    """`length` fragments, each spreading the next twice: 2^length paths, `3 * length + 3` selections."""
    chain = [f"fragment F{i} on Item {{ child {{ ...F{i + 1} ...F{i + 1} }} }}" for i in range(length)]
    return " ".join(["{ item { ...F0 } }", *chain, f"fragment F{length} on Item {{ name }}"])


def test_depth_walks_each_fragment_once() -> None:
    document = parse(fragment_chain(30))
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    walk = DepthWalk(fragments)
    (operation,) = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert walk.depth(operation.selection_set) == 31
    assert walk.visits == 2 + 3 * 30 + 1  # every selection once, not once per path


@pytest.mark.parametrize("caches", [(), (ParserCache, ValidationCache)])
async def test_a_fragment_chain_is_rejected_for_its_depth(caches: tuple[type[SchemaExtension], ...]) -> None:
    result = await make_schema(*caches, depth=12, aliases=30, tokens=5000).execute(fragment_chain(30))
    assert result.errors is not None
    assert [(e.extensions or {}).get("actual") for e in result.errors] == [31]
    assert result.errors[0].extensions is not None
    assert result.errors[0].extensions["code"] == "QUERY_TOO_COMPLEX"


@pytest.mark.parametrize(
    ("query", "limit", "maximum"),
    [
        ("{ item { child { child { child { name } } } } }", "depth", 3),
        ("{ a: item { name } b: item { name } c: item { name } }", "aliases", 2),
        ("{ " + "item { name } " * 20 + "}", "tokens", 60),
    ],
)
@pytest.mark.parametrize("caches", [(), (ParserCache, ValidationCache)])
async def test_limits_fail_with_query_too_complex(
    query: str, limit: str, maximum: int, caches: tuple[type[SchemaExtension], ...]
) -> None:
    result = await make_schema(*caches).execute(query)
    assert result.data is None
    assert result.errors is not None and len(result.errors) == 1
    error = result.errors[0]
    assert error.extensions is not None
    assert error.extensions["code"] == "QUERY_TOO_COMPLEX"
    assert error.extensions["limit"] == limit
    assert error.extensions["maximum"] == maximum
    assert error.path is None


async def test_within_limits_executes() -> None:
    result = await make_schema().execute("{ a: item { child { child { name } } } b: item { name } }")
    assert result.errors is None
    assert result.data == {"a": {"child": {"child": {"name": "item"}}}, "b": {"name": "item"}}


async def test_graphiql_introspection_passes_the_default_limits() -> None:
    schema = make_schema(depth=12, aliases=30, tokens=5000)
    result = await schema.execute(get_introspection_query(descriptions=True))
    assert result.errors is None
    assert result.data is not None and result.data["__schema"]["queryType"]["name"] == "Query"


def test_rule_classes_are_built_once_per_schema() -> None:
    (limits,) = limit_extensions(load_settings(require_sources=False))
    assert issubclass(limits, QueryLimits)
    first, second = limits(), limits()  # strawberry makes one per request
    assert first.rules is second.rules
    assert len(limits.rules) == 2


async def test_validation_cache_hits_across_requests() -> None:
    schema = make_schema(ParserCache, ValidationCache)
    cache: Any = _get_validate_cache(128)
    cache.cache_clear()
    for _ in range(3):
        result = await schema.execute("{ item { name } }")
        assert result.errors is None
    info = cache.cache_info()
    assert (info.misses, info.hits) == (1, 2)
