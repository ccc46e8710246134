"""Experience API: the strawberry schema over canonical models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import strawberry
import strawberry.federation
from graphql import GraphQLError
from graphql.execution import Executor
from strawberry.extensions import SchemaExtension
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from opsgraph.schema.errors import ResponseExtensions, annotate, log_source_errors, merge_repeats
from opsgraph.schema.federation import (
    FEDERATION_VERSION,
    FederatedSchemaMixin,
    entity_keys,
    federated_query,
    print_subgraph,
)
from opsgraph.schema.mutation import Mutation as WorkflowMutation
from opsgraph.schema.mutation_change import ChangeMutation
from opsgraph.schema.mutation_time import TimeMutation
from opsgraph.schema.query import Query
from opsgraph.schema.subscription import Subscription
from opsgraph.schema.types import nodes, views, workflow

Mutation = merge_types("Mutation", (WorkflowMutation, TimeMutation, ChangeMutation))


class OpsSchema(strawberry.Schema):
    """Gives every error its `extensions.code` on the way out (see `errors.annotate`), and merges
    repeats of one error into one entry (`errors.merge_repeats`)."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            annotate(error, execution_context)
        errors[:] = merge_repeats(errors)  # in place: the response holds this very list
        log_source_errors(errors)


class FederatedOpsSchema(FederatedSchemaMixin, OpsSchema, strawberry.federation.Schema):  # type: ignore[misc]
    """The graph as an Apollo Federation 2 subgraph (`schema/federation.py`)."""


def build_schema(
    extensions: Sequence[type[SchemaExtension] | SchemaExtension] = (),
    execution_context_class: type[Executor] | None = None,
    *,
    federation: bool = False,
) -> OpsSchema:
    types: list[Any] = [
        nodes.Client,
        nodes.Opportunity,
        nodes.Engagement,
        nodes.Resource,
        nodes.TimeEntry,
        nodes.Invoice,
        views.Burn,
        views.InvoiceReadiness,
        workflow.Workflow,
    ]
    all_extensions: list[Any] = [ResponseExtensions, *extensions]
    options: dict[str, Any] = {
        "mutation": Mutation,
        "subscription": Subscription,
        "types": types,
        "extensions": all_extensions,
        "execution_context_class": execution_context_class,
    }
    if not federation:
        return OpsSchema(query=Query, **options)
    with entity_keys():  # the keys exist only while the subgraph is built and printed
        schema = FederatedOpsSchema(
            query=federated_query(Query), federation_version=FEDERATION_VERSION, **options
        )
        schema.federation_sdl = print_subgraph(schema)
    return schema


def schema_sdl(*, federation: bool = False) -> str:
    """The SDL that `schema.graphql` holds (what `opsgraph export-schema` prints); with `federation`,
    the subgraph's (`_service { sdl }`)."""
    if federation:
        schema = build_schema(federation=True)
        assert isinstance(schema, FederatedOpsSchema)
        return schema.federation_sdl
    return str(build_schema()).rstrip("\n") + "\n"


__all__ = ["FederatedOpsSchema", "OpsSchema", "build_schema", "schema_sdl"]
