"""The cost budget: an operation whose estimated cost (`cost.py`) is over the caller's budget is
refused with QUERY_TOO_COMPLEX before anything is fetched, with `estimate` and `budget` in
`extensions`.

The check runs when execution starts (validation has passed, so the document is well formed, and the
variables and the caller are known). The plan of each document is compiled once and kept by the
SHA-256 of its text and the operation's name (`CostPlans`, least recently used out first); a plan
whose cost does not depend on variables keeps its cost. Raised from `on_execute`, the error is a
request error: no `data`, a 400 over graphql-response+json.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterator
from typing import ClassVar

from graphql import DocumentNode, GraphQLError, GraphQLSchema
from strawberry.extensions import SchemaExtension

from opsgraph.auth.caller import Caller
from opsgraph.gateway.cost import CostModel, CostPlan, compile_plan
from opsgraph.gateway.demand_settings import CostSettings
from opsgraph.gateway.limits import QUERY_TOO_COMPLEX

__all__ = ["CostLimit", "CostPlans", "cost_extension"]


class CostPlans:
    """Plans (or their constant cost) by (SHA-256 of the document, operation name), at most `size`."""

    def __init__(self, model: CostModel, size: int = 1024) -> None:
        self.model = model
        self.size = size
        self.compiled = 0
        self._plans: OrderedDict[tuple[bytes, str | None], CostPlan | int | None] = OrderedDict()

    def estimate(
        self,
        schema: GraphQLSchema,
        query: str | None,
        document: DocumentNode,
        operation_name: str | None,
        variables: dict[str, object],
    ) -> int | None:
        """The operation's estimated cost; None when the document has no such operation."""
        if query is None:
            plan: CostPlan | int | None = self._compile(schema, document, operation_name)
        else:
            key = (hashlib.sha256(query.encode()).digest(), operation_name)
            if key in self._plans:
                self._plans.move_to_end(key)
                plan = self._plans[key]
            else:
                plan = self._plans[key] = self._compile(schema, document, operation_name)
                if len(self._plans) > self.size:
                    self._plans.popitem(last=False)
        if plan is None or isinstance(plan, int):
            return plan
        return plan.cost(variables)

    def _compile(
        self, schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
    ) -> CostPlan | int | None:
        self.compiled += 1
        plan = compile_plan(schema, document, operation_name, self.model)
        if plan is not None and plan.constant:
            return plan.cost({})
        return plan


class CostLimit(SchemaExtension):
    settings: ClassVar[CostSettings]
    plans: ClassVar[CostPlans]

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            variables = context.variables or {}
            schema = context.schema._schema
            estimate = self.plans.estimate(schema, context.query, document, context.operation_name, variables)
            caller = getattr(context.context, "caller", None)
            budget = self.settings.budget_of(caller if isinstance(caller, Caller) else None)
            if estimate is not None and estimate > budget:
                raise GraphQLError(
                    f"The operation's estimated cost is {estimate}, over the budget of {budget}: "
                    "ask for smaller pages (`first`), fewer lists or fewer aliases.",
                    extensions={
                        "code": QUERY_TOO_COMPLEX,
                        "limit": "cost",
                        "estimate": estimate,
                        "budget": budget,
                    },
                )
        yield


def cost_extension(settings: CostSettings) -> list[type[SchemaExtension]]:
    """The extension for `build_schema`, with its plan cache (one per schema); none when disabled."""
    if not settings.enabled:
        return []
    attrs = {"settings": settings, "plans": CostPlans(settings.model())}
    return [type("BoundCostLimit", (CostLimit,), attrs)]
