"""Schema governance (issue 13): a breaking change against the released schema (`schema.release.graphql`)
fails unless `SCHEMA_CHANGES.toml` lists it with its reason; additions never do."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsgraph.schema import schema_sdl
from opsgraph.schema.changes import accepted_changes, breaking_changes, unlisted_breaking_changes

ROOT = Path(__file__).resolve().parent.parent
RELEASED = ROOT / "schema.release.graphql"
CHANGELOG = ROOT / "SCHEMA_CHANGES.toml"

OLD = """
type Query { engagement(code: String!): Engagement, engagements: [Engagement!]! }
type Engagement { code: String!, name: String, legacyCode: String }
"""


def test_no_unlisted_breaking_change_since_the_release() -> None:
    unlisted = unlisted_breaking_changes(RELEASED.read_text(), schema_sdl(), CHANGELOG)
    assert not unlisted, (
        "breaking schema changes since schema.release.graphql; undo them, or list each in "
        "SCHEMA_CHANGES.toml as [[breaking]] with `change` (the line below) and `reason`:\n"
        + "\n".join(f'  change = "{c}"' for c in unlisted)
    )


def test_every_listed_change_has_a_reason() -> None:
    for entry in accepted_changes(CHANGELOG):
        assert entry.reason


def test_additions_are_not_breaking() -> None:
    new = OLD.replace("legacyCode: String }", "legacyCode: String, burn: Float, health: String! }")
    new += "type Extra { id: ID! }\n"
    new = new.replace(
        "engagements: [Engagement!]! }", "engagements(first: Int): [Engagement!]!, extra: Extra }"
    )
    assert breaking_changes(OLD, new) == []


def test_a_removed_field_and_a_new_required_argument_break(tmp_path: Path) -> None:
    new = OLD.replace(", legacyCode: String", "").replace(
        "engagements: [Engagement!]!", "engagements(region: String!): [Engagement!]!"
    )
    found = breaking_changes(OLD, new)
    assert found == [
        "FIELD_REMOVED: Field Engagement.legacyCode was removed.",
        "REQUIRED_ARG_ADDED: A required argument Query.engagements(region:) was added.",
    ]
    changelog = tmp_path / "SCHEMA_CHANGES.toml"
    entry = '[[breaking]]\nchange = "FIELD_REMOVED: Field Engagement.legacyCode was removed."\n'
    changelog.write_text(entry + 'reason = "use code"\n')
    assert unlisted_breaking_changes(OLD, new, changelog) == [found[1]]
    changelog.write_text(entry)
    with pytest.raises(ValueError, match="reason"):
        unlisted_breaking_changes(OLD, new, changelog)
