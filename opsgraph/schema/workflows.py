"""`Query.workflows`: the mutations' workflows, oldest first; `status: [PARKED]` is the exception queue.

Paged by keyset: a cursor is the workflow's own global id, so new workflows never shift a page.
`Query` takes this field by inheriting `WorkflowQueries`.
"""

from __future__ import annotations

import strawberry

from opsgraph.schema.mutation import engine_of
from opsgraph.schema.pagination import Connection, Edge, PageInfo, check_first
from opsgraph.schema.relay import from_global_id
from opsgraph.schema.types.common import Info
from opsgraph.schema.types.workflow import Workflow, WorkflowStatus
from opsgraph.workflows import records


@strawberry.type
class WorkflowQueries:
    @strawberry.field(description="Workflows oldest first; status PARKED is the exception queue.")
    async def workflows(
        self,
        info: Info,
        status: list[WorkflowStatus] | None = None,  # type: ignore[valid-type]
        kind: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Workflow] | None:
        size = check_first(first)
        info.context.loaders.reads.uncached = True  # live state: never in the response cache
        engine = engine_of(info)
        statuses = [records.WorkflowStatus(str(s)) for s in status] if status else None
        anchor = from_global_id(after, "Workflow")[1] if after else None
        found = await engine.list(statuses, kind, first=size + 1, after=anchor)
        total = await engine.count(statuses, kind)
        page = [Workflow.of(r) for r in found[:size]]
        return Connection(
            edges=[Edge(cursor=str(w.id), node=w) for w in page],
            nodes=page,
            page_info=PageInfo(
                has_next_page=len(found) > size,
                has_previous_page=after is not None,
                start_cursor=str(page[0].id) if page else None,
                end_cursor=str(page[-1].id) if page else None,
            ),
            total_count=total,
        )


async def workflow_nodes(info: Info, ids: list[str]) -> list[Workflow | None]:
    """`node(id:)` of workflows: each read from the workflow store (None when there is none)."""
    info.context.loaders.reads.uncached = True  # live state: never in the response cache
    engine = engine_of(info)
    return [None if (r := await engine.get(i)) is None else Workflow.of(r) for i in ids]
