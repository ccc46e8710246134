"""`node(id:)` and `nodes(ids:)`: ids checked at the edge, read by type through the loaders.

- Every id is decoded and its key's shape checked (`relay.from_global_id`) before anything
  leaves the gateway; a bad id in `nodes` nulls only its own entry.
- The ids of one request, across all its `node` and `nodes` fields, are capped at
  `MAX_NODE_IDS`; past it, those fields fail with `TOO_MANY_IDS` and make no upstream call.
- A record the caller's row rules hide (`resolvers/rows.py`) is null, as if it did not exist.
- Ids are grouped by type and each group is read in one go through the request's loaders
  (a batch read by ids per system, or one listing), so a hundred ids cost a few calls, not a hundred.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    ListValueNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
)

from opsgraph import model
from opsgraph.model import Role, split_key
from opsgraph.schema.relay import from_global_id
from opsgraph.schema.types.common import Info
from opsgraph.schema.types.nodes import Client, Engagement, Invoice, Node, Opportunity, Resource, TimeEntry
from opsgraph.schema.workflows import workflow_nodes

MAX_NODE_IDS = 100
NODE_FIELDS = ("node", "nodes")

Found = Node | None | Exception
T = TypeVar("T")
R = TypeVar("R", bound=model.AnyRecord)


class TooManyIds(GraphQLError):
    def __init__(self, count: int) -> None:
        super().__init__(
            f"{count} ids in node/nodes fields of one request; at most {MAX_NODE_IDS} are allowed",
            extensions={"code": "TOO_MANY_IDS", "limit": MAX_NODE_IDS, "count": count},
        )


def _count_value(value: ValueNode, variables: Mapping[str, Any]) -> int:
    if isinstance(value, ListValueNode):
        return len(value.values)
    if isinstance(value, VariableNode):
        bound = variables.get(value.name.value)
        return len(bound) if isinstance(bound, list) else 1
    return 1


def count_node_ids(
    selection_set: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    memo: dict[str, int] | None = None,
) -> int:
    """The ids passed to `node`/`nodes` in an operation's root selection set (where those fields live),
    through its fragments, each counted where it is spread. Each fragment is walked once (`memo`), so
    fragments that spread others twice cost linear, not exponential, time."""
    memo = {} if memo is None else memo
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value in NODE_FIELDS:
                total += sum(_count_value(a.value, variables) for a in selection.arguments or ())
        elif isinstance(selection, InlineFragmentNode):
            total += count_node_ids(selection.selection_set, fragments, variables, memo)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name not in memo and name in fragments:
                memo[name] = 0  # a spread cycle is a validation error; never loop on one
                memo[name] = count_node_ids(fragments[name].selection_set, fragments, variables, memo)
            total += memo.get(name, 0)
    return total


async def check_id_budget(info: Info) -> None:
    """Raise TOO_MANY_IDS when the request's node fields together pass more than MAX_NODE_IDS ids."""

    async def count() -> int:
        fragments = info._raw_info.fragments
        return count_node_ids(info.operation.selection_set, fragments, info.variable_values)

    total = await info.context.loaders.memo.get(("node-id-count",), count)
    if total > MAX_NODE_IDS:
        raise TooManyIds(total)


def _settle(results: Sequence[T | BaseException | None], wrap: Callable[[T], Node]) -> list[Found]:
    """Wrap each record as its node; an error stays in its own entry (cancellation propagates)."""
    out: list[Found] = []
    for r in results:
        if isinstance(r, BaseException) and not isinstance(r, Exception):
            raise r
        out.append(r if r is None or isinstance(r, Exception) else wrap(r))
    return out


async def _resources(info: Info, keys: list[str]) -> list[Found]:
    """A resource key is an HR record's, or a PSA user's for a person only the PSA knows."""
    loaders, systems = info.context.loaders, info.context.sources.systems

    async def one(key: str) -> Resource | None:
        system = systems.get(split_key(key)[0])
        if system is not None and system.role is Role.PSA:
            return await Resource.for_psa_user(info, key)
        hr = await loaders.resource.load(key)  # a system not of HR (or none) loads as None
        return await Resource.for_hr(info, hr) if hr else None

    return _settle(await asyncio.gather(*(one(k) for k in keys), return_exceptions=True), _same)


async def _of_type(info: Info, type_name: str, keys: list[str]) -> list[Found]:
    """The nodes of one type, in key order: one batched read per system (a DataLoader batch) or a
    listing. A key of a system that is not configured, or not of the type's role, is None."""
    loaders = info.context.loaders
    if type_name == "Resource":
        return await _resources(info, keys)
    if type_name == "Workflow":
        return [*await workflow_nodes(info, keys)]
    if type_name == "Engagement":
        by_code = await loaders.engagement_by_code()
        return [Engagement.of(e) if (e := by_code.get(k)) else None for k in keys]
    if type_name == "TimeEntry":
        entries = await asyncio.gather(*(loaders.time_entry.load(k) for k in keys), return_exceptions=True)
        return _settle(await _visible(info, entries), TimeEntry.of)
    if type_name == "Client":
        clients = await asyncio.gather(*(loaders.client.load(k) for k in keys), return_exceptions=True)
        return _settle(await _visible(info, clients), Client.of)
    if type_name == "Opportunity":
        opps = await asyncio.gather(*(loaders.opportunity.load(k) for k in keys), return_exceptions=True)
        return _settle(await _visible(info, opps), Opportunity.of)
    invoices = await asyncio.gather(*(loaders.invoice.load(k) for k in keys), return_exceptions=True)
    return _settle(await _visible(info, invoices), Invoice.of)


async def _visible(info: Info, found: Sequence[R | BaseException | None]) -> list[R | BaseException | None]:
    """`found` with the records the caller's row rules hide as None (no such record, for them)."""
    rows = info.context.loaders.rows
    if rows is None:
        return list(found)
    shown = await asyncio.gather(
        *(rows.record(r) if isinstance(r, model.Record | model.TimeEntry) else _true() for r in found)
    )
    return [r if ok else None for r, ok in zip(found, shown, strict=True)]


async def _true() -> bool:
    return True


def _same(node: Node) -> Node:
    return node


async def lookup(info: Info, ids: Sequence[str]) -> list[Found]:
    """One entry per id, in order: the node, None (no such record), or the error for that id alone."""
    out: list[Found] = [None] * len(ids)
    by_type: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for i, global_id in enumerate(ids):
        try:
            type_name, key = from_global_id(global_id)
        except GraphQLError as exc:
            out[i] = exc
        else:
            by_type[type_name].append((i, key))
    groups = list(by_type.items())
    results = await asyncio.gather(*(_of_type(info, t, [k for _, k in pairs]) for t, pairs in groups))
    for (_, pairs), found in zip(groups, results, strict=True):
        for (i, _), node in zip(pairs, found, strict=True):
            out[i] = node
    return out


async def resolve_nodes(info: Info, ids: Sequence[str]) -> list[Found]:
    """The `nodes` field: within the request's id budget, then `lookup`."""
    await check_id_budget(info)
    return await lookup(info, ids)


async def resolve_node(info: Info, global_id: str, *, budget: bool = True) -> Node | None:
    """The `node` field (`budget=False` for ids the gateway looks up for itself, such as filters)."""
    if budget:
        await check_id_budget(info)
    (found,) = await lookup(info, [global_id])
    if isinstance(found, Exception):
        raise found
    return found
