"""Experience API: the strawberry schema over canonical models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.execution import Executor
from strawberry.extensions import SchemaExtension
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from opsgraph.schema.errors import ResponseExtensions, annotate, log_source_errors, merge_repeats
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


def build_schema(
    extensions: Sequence[type[SchemaExtension] | SchemaExtension] = (),
    execution_context_class: type[Executor] | None = None,
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
    return OpsSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=types,
        extensions=all_extensions,
        execution_context_class=execution_context_class,
    )


def schema_sdl() -> str:
    """The SDL that `schema.graphql` holds (what `opsgraph export-schema` prints)."""
    return str(build_schema()).rstrip("\n") + "\n"


__all__ = ["OpsSchema", "build_schema", "schema_sdl"]
