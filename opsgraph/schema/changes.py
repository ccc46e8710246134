"""Schema governance: breaking changes against the last release must be listed, with a reason.

`schema.release.graphql` is the schema as last released; `SCHEMA_CHANGES.toml` lists the breaking
changes made since, each with its reason. graphql-core's `find_breaking_changes` decides what
breaks a client (a field or type removed, a type changed, a required argument added, ...); additions
never do. A change is named as `TYPE: description`, e.g.
`FIELD_REMOVED: Field Engagement.legacyCode was removed.` -- the exact line the check prints.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from graphql import build_schema, find_breaking_changes

__all__ = ["Accepted", "accepted_changes", "breaking_changes", "unlisted_breaking_changes"]


@dataclass(frozen=True)
class Accepted:
    change: str
    reason: str


def breaking_changes(released_sdl: str, current_sdl: str) -> list[str]:
    """Every change from `released_sdl` to `current_sdl` that can break a client, as `TYPE: description`."""
    changes = find_breaking_changes(build_schema(released_sdl), build_schema(current_sdl))
    return sorted(f"{c.type.name}: {c.description}" for c in changes)


def accepted_changes(changelog: Path) -> list[Accepted]:
    """The `[[breaking]]` entries of the changelog (`change` and a non-empty `reason` each)."""
    data = tomllib.loads(changelog.read_text()) if changelog.exists() else {}
    out: list[Accepted] = []
    for i, entry in enumerate(data.get("breaking", [])):
        change, reason = str(entry.get("change", "")).strip(), str(entry.get("reason", "")).strip()
        if not change or not reason:
            raise ValueError(f"{changelog.name}: breaking[{i}] needs both `change` and `reason`")
        out.append(Accepted(change, reason))
    return out


def unlisted_breaking_changes(released_sdl: str, current_sdl: str, changelog: Path) -> list[str]:
    """The breaking changes not listed in the changelog (an empty list passes)."""
    listed = {a.change for a in accepted_changes(changelog)}
    return [c for c in breaking_changes(released_sdl, current_sdl) if c not in listed]
