"""Checks of the contract every port method shares (`opsgraph/roles/base.py`), for any role.

Batch reads, children-by-parent reads, record identity (`system`, string `id`), field-by-field
comparison with the world, and paging and push-down as the simulator saw them (errors: `errors.py`).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from opsgraph.model import Record, TimeEntry

from .ids import MALFORMED
from .serving import Admin, Seen, SimServer

T = TypeVar("T")

BatchRead = Callable[[Iterable[str]], Awaitable[Mapping[str, Any]]]


def _norm(value: Any) -> Any:
    """A comparable form: floats to 6 places (sums may add in another order). Decimals compare by value
    as they are (`Decimal("240.00") == Decimal("240")`)."""
    if isinstance(value, BaseModel):
        return _norm(value.model_dump())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # a TimeEntry
        return _norm(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_norm(v) for v in value]
    if isinstance(value, float):
        return round(value, 6)
    return value


def field_diff(actual: Any, expected: Any) -> dict[str, tuple[Any, Any]]:
    """{field: (actual, expected)} where they differ."""
    got, want = _norm(actual), _norm(expected)
    return {k: (got.get(k), want[k]) for k in want if got.get(k) != want[k]}


def assert_same(actual: Any, expected: Any, what: str) -> None:
    assert isinstance(actual, type(expected)), (
        f"{what}: a {type(actual).__name__}, not {type(expected).__name__}"
    )
    diff = field_diff(actual, expected)
    assert not diff, f"{what}: fields differ from the world as (client's, world's): {diff}"


def assert_implements(client: Any, port: type) -> None:
    """The client has every READ member the port declares (reads, `system`, `probe`, `changed_since`).

    The port's writes (members taking `idempotency_key`) come with the workflows issue, kit by kit; a
    kit that has some must have them with the port's parameters. `isinstance(client, port)` holds once
    a kit has them all.
    """
    members = {
        name: member
        for klass in reversed(port.__mro__)
        if getattr(klass, "_is_protocol", False) and klass.__module__.startswith("opsgraph.")
        for name, member in vars(klass).items()
        if not name.startswith("_")
    }
    writes = {name for name, member in members.items() if _is_write(member)}
    missing = sorted(name for name in members if name not in writes and not hasattr(type(client), name))
    assert not missing, f"{type(client).__name__} lacks these {port.__name__} read members: {missing}"
    for name in sorted(writes):
        have = getattr(type(client), name, None)
        if have is not None:
            want = list(inspect.signature(members[name]).parameters)
            assert list(inspect.signature(have).parameters) == want, f"{type(client).__name__}.{name}"
    if writes <= set(dir(type(client))):
        assert isinstance(client, port)


def _is_write(member: Any) -> bool:
    return callable(member) and "idempotency_key" in inspect.signature(member).parameters


def assert_identity(records: Iterable[Any], system: str) -> None:
    """Every record names the system the client was built with and has a non-empty string id."""
    for record in records:
        assert isinstance(record, Record | TimeEntry), f"{type(record).__name__} is not a canonical record"
        assert record.system == system, f"{type(record).__name__} {record.id!r} has system {record.system!r}"
        assert isinstance(record.id, str) and record.id, f"{type(record).__name__} id {record.id!r}"


async def check_batch_read(
    read: BatchRead,
    expected: Mapping[str, BaseModel],
    unknown: Sequence[str],
    system: str,
    what: str,
) -> Mapping[str, Any]:
    """Asked ids are all answered; unknown and malformed ids are absent; duplicates are fine.

    The ids are passed as a one-shot generator: the port takes any iterable.
    """
    known = list(expected)
    asked = [*known, *unknown, *MALFORMED, *known[:2], *unknown[:1]]
    result = await read(i for i in asked)
    assert set(result) == set(known), (
        f"{what}: keys should be exactly the known ids; missing {sorted(set(known) - set(result))}, "
        f"extra {sorted(set(result) - set(known))}"
    )
    assert all(v is not None for v in result.values()), f"{what}: a None value (absent ids are left out)"
    assert_identity(result.values(), system)
    for key, want in expected.items():
        assert_same(result[key], want, f"{what} {key}")
    assert await read([]) == {}, f"{what}: an empty batch is an empty mapping"
    return result


async def check_children_read(
    read: BatchRead,
    expected_ids: Mapping[str, Sequence[str]],
    unknown: Sequence[str],
    system: str,
    what: str,
    *,
    ordered: bool = True,
) -> Mapping[str, Any]:
    """Every parent asked is answered: its children (ids as expected, in id order when `ordered`), `[]`
    for a parent with none, an unknown parent or a malformed id."""
    asked = [*expected_ids, *unknown, *MALFORMED, *list(expected_ids)[:1]]
    result = await read(i for i in asked)
    assert set(result) == set(asked), (
        f"{what}: every parent asked is a key; missing {sorted(set(asked) - set(result))}, "
        f"extra {sorted(set(result) - set(asked))}"
    )
    for parent in [*unknown, *MALFORMED]:
        assert result[parent] == [], f"{what}: parent {parent!r} has no children, got {result[parent]!r}"
    for parent, want in expected_ids.items():
        children = list(result[parent])
        assert_identity(children, system)
        got = [c.id for c in children]
        if ordered:
            assert got == sorted(want, key=_id_order), f"{what} of {parent}: {got} (want {sorted(want)})"
        else:
            assert sorted(got) == sorted(want), f"{what} of {parent}: {sorted(got)} (want {sorted(want)})"
    return result


def _id_order(record_id: str) -> tuple[int, int | str]:
    """Ids in the vendor's order: numeric ids by value, others as text."""
    return (0, int(record_id)) if record_id.isdigit() else (1, record_id)


def in_id_order(ids: Sequence[str]) -> bool:
    return list(ids) == sorted(ids, key=_id_order)


# -- what the simulator saw -------------------------------------------------------------------------


async def served(sim: SimServer, call: Awaitable[T]) -> tuple[T, list[Seen]]:
    """`call`'s result and the vendor requests it made (token requests left out); the simulator's own
    stats (`/_sim/stats`) count as many requests as the log."""
    admin = Admin(sim)
    before = (await admin.stats())["total"]
    mark = sim.log.mark()
    result = await call
    logged = sim.log.since(mark)
    counted = (await admin.stats())["total"] - before
    assert counted == len(logged), f"/_sim/stats counted {counted} requests, the log {len(logged)}"
    return result, [s for s in logged if "token" not in s.path]


def check_paging(seen: Sequence[Seen], count: int, max_page: int, what: str) -> int:
    """The listing took at least the pages the vendor's largest page allows, and no page twice."""
    pages = len(seen)
    need = max(1, math.ceil(count / max_page))
    assert pages >= need, f"{what}: {count} records in {pages} requests; the vendor serves {max_page} a page"
    keys = [(s.method, s.path, s.query, s.body) for s in seen]
    assert len(set(keys)) == len(keys), f"{what}: a page was requested twice"
    assert all(200 <= s.status < 300 for s in seen), f"{what}: {[s.status for s in seen]}"
    return pages


def served_bytes(seen: Sequence[Seen]) -> int:
    return sum(s.bytes_out for s in seen)


def check_pushed_down(filtered: Sequence[Seen], unfiltered: Sequence[Seen], what: str) -> None:
    """The vendor did the filtering: it served less for the filtered listing than for the whole one."""
    got, whole = served_bytes(filtered), served_bytes(unfiltered)
    assert got < whole, (
        f"{what}: the simulator served {got} bytes for the filtered listing and {whole} for the whole "
        "listing: the filter was not sent to the vendor"
    )
