"""A person's PSA records across every PSA system, by email.

A person (HR owns them) may be a user in several PSA systems (one per region, say): their
assignments and time are those of every PSA user with their email, not only the one whose capacity
and rates the `Resource` shows. The indexes are built once per version of the listings
(`resolvers/derived.py`) and shared by every person of a list, so a page of people costs one pass
over the rows, not one per person.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import date
from typing import TypeVar

from opsgraph import model
from opsgraph.resolvers.loaders import Loaders, group_by, user_key

R = TypeVar("R", model.Assignment, model.TimeEntry)


async def _index(
    loaders: Loaders, name: object, rows: Callable[[], Awaitable[list[R]]]
) -> dict[str, list[R]]:
    async def build() -> dict[str, list[R]]:
        found = await rows()
        return loaders.derived(("by-psa-user", name), [found], lambda: group_by(found, user_key))

    return await loaders.memo.get(("index", "by-psa-user", name), build)


async def psa_user_keys(loaders: Loaders, email: str) -> list[str]:
    """The keys of every PSA user with this email (case-insensitive), in the systems' order."""

    async def build() -> dict[str, list[str]]:
        users = await loaders.psa_users()

        def keys() -> dict[str, list[str]]:
            out: dict[str, list[str]] = defaultdict(list)
            for user in users:
                out[user.email.lower()].append(user.key)
            return dict(out)

        return loaders.derived("psa-user-keys-by-email", [users], keys)

    index = await loaders.memo.get(("index", "psa-user-keys-by-email"), build)
    return index.get(email.lower(), [])


async def assignments_of(loaders: Loaders, email: str) -> list[model.Assignment]:
    by_user = await _index(loaders, "assignments", loaders.assignments)
    return [a for key in await psa_user_keys(loaders, email) for a in by_user.get(key, ())]


async def time_entries_of(loaders: Loaders, email: str, start: date, end: date) -> list[model.TimeEntry]:
    by_user = await _index(
        loaders, ("time_entries", start, end), lambda: loaders.time_entries_in_range(start, end)
    )
    return [e for key in await psa_user_keys(loaders, email) for e in by_user.get(key, ())]
