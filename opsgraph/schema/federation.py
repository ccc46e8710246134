"""The graph as an Apollo Federation 2 subgraph (`opsgraph serve --federation`).

A router (Apollo Router, Hive Gateway, Cosmo) composes it with the firm's other subgraphs. Entities
are keyed by their global id, and an Engagement also by its `code` (the cross-system join key):

    type Engagement implements Node @key(fields: "id") @key(fields: "code") { ... }

The `@key` directives exist only in the subgraph: the plain graph (`schema.graphql`) stays free of
federation. They are attached to the node types while the subgraph is built and printed, and taken
off again at once (a synchronous block: no other schema build can interleave); the subgraph keeps
its printed SDL for `_service { sdl }`. `_entities` resolves representations through the same node
lookup as `nodes(ids:)` (batched per type), and engagements by code through the engagements index.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final, Literal

import strawberry
import strawberry.federation
from graphql import GraphQLError
from strawberry.federation.schema import FederationAny
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet
from strawberry.printer import print_schema
from strawberry.types.base import get_object_definition

from opsgraph.schema.errors import BadUserInput
from opsgraph.schema.node_lookup import check_id_budget, lookup
from opsgraph.schema.relay import from_global_id
from opsgraph.schema.types.common import Info
from opsgraph.schema.types.nodes import Client, Engagement, Invoice, Resource, TimeEntry

__all__ = [
    "ENTITY_KEYS",
    "FEDERATION_VERSION",
    "FederatedSchemaMixin",
    "entity_keys",
    "federated_query",
    "print_subgraph",
]

FEDERATION_VERSION: Final[Literal["2.3"]] = "2.3"
"""`@key` is all the subgraph uses; 2.3 is understood by every current router and composer."""

ENTITY_KEYS: dict[type, tuple[str, ...]] = {
    Client: ("id",),
    Engagement: ("id", "code"),
    Resource: ("id",),
    Invoice: ("id",),
    TimeEntry: ("id",),
}


@contextmanager
def entity_keys() -> Iterator[None]:
    """The `@key` directives on the entity types, for the duration of the block."""
    saved: list[tuple[Any, Any]] = []
    for cls, keys in ENTITY_KEYS.items():
        definition = get_object_definition(cls, strict=True)
        saved.append((definition, definition.directives))
        definition.directives = [*(definition.directives or ()), *(Key(fields=FieldSet(k)) for k in keys)]
    try:
        yield
    finally:
        for definition, directives in saved:
            definition.directives = directives


def _typename(representation: Any, index: int) -> str:
    if not isinstance(representation, Mapping) or not isinstance(representation.get("__typename"), str):
        raise BadUserInput(f"representations[{index}] has no __typename", argument="representations")
    return str(representation["__typename"])


class FederatedSchemaMixin:
    """Mixed into the gateway's schema class with `strawberry.federation.Schema` (`build_schema`)."""

    federation_sdl: str = ""

    async def entities_resolver(
        self, info: Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        return await _Entities(info, representations).resolve()


@strawberry.type(name="_Service")
class Service:
    sdl: str


def federated_query(query: type) -> type:
    """`query` with `_service { sdl }` answering the SDL printed with the keys on (strawberry's own
    prints the schema when asked, by which time the keys are off again)."""

    class FederatedQuery(query):
        @strawberry.field(name="_service")
        def service(self, info: Info) -> Service:
            return Service(sdl=info.schema.federation_sdl)  # type: ignore[attr-defined]

    definition = get_object_definition(query, strict=True)
    return strawberry.type(FederatedQuery, name="Query", description=definition.description)


class _Entities:
    """One `_entities` field: ids looked up together (one batch per type), codes through the index."""

    def __init__(self, info: Info, representations: Sequence[Any]) -> None:
        self.info, self.representations = info, representations

    async def resolve(self) -> list[Any]:
        out: list[Any] = [None] * len(self.representations)
        by_id: list[tuple[int, str]] = []
        by_code: list[tuple[int, str]] = []
        for i, rep in enumerate(self.representations):
            try:
                name = _typename(rep, i)
                keys = next((k for c, k in ENTITY_KEYS.items() if c.__name__ == name), None)
                if keys is None:
                    raise BadUserInput(
                        f"{name} is not an entity of this subgraph", argument="representations"
                    )
                if isinstance(rep.get("id"), str):
                    if from_global_id(rep["id"])[0] != name:
                        raise BadUserInput(f"representations[{i}]: the id is not a {name}'s", argument="id")
                    by_id.append((i, rep["id"]))
                elif "code" in keys and isinstance(rep.get("code"), str):
                    by_code.append((i, rep["code"]))
                else:
                    fields = " or ".join(keys)
                    raise BadUserInput(f"representations[{i}] needs {fields}", argument="representations")
            except GraphQLError as exc:
                out[i] = exc
        if by_id:
            await check_id_budget(self.info)
            found = await lookup(self.info, [global_id for _, global_id in by_id])
            for (i, _), node in zip(by_id, found, strict=True):
                out[i] = node
        if by_code:
            index = await self.info.context.loaders.engagement_by_code()
            for i, code in by_code:
                out[i] = Engagement.of(e) if (e := index.get(code)) else None
        return out


def print_subgraph(schema: strawberry.federation.Schema) -> str:
    """The subgraph's SDL as a router reads it (the keys must be on while printing)."""
    return print_schema(schema).rstrip("\n") + "\n"
