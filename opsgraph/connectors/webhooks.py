"""What a connector kit offers for its vendor's webhooks (`connectors/<vendor>/webhooks.py`).

The gateway's route (`gateway/webhooks.py`) knows no vendor: it hands the raw request to the system's
kit, which verifies it (signature, timestamp) against the system's credentials and reads the changes it
reports. Anything unverified is refused before a byte of its body is trusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from opsgraph.roles import Change, Entity

__all__ = ["Pushed", "WebhookKit", "WebhookRejected", "WebhookRequest"]


class WebhookRejected(ValueError):
    """A webhook request that must not be trusted: `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class WebhookRequest:
    """One delivery as it arrived: `url` is the full URL it was sent to, `body` its raw bytes."""

    method: str
    url: str
    body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Pushed:
    """The changes one delivery reports for one entity."""

    entity: Entity
    changes: tuple[Change, ...]


class WebhookKit(Protocol):
    def verify(self, credentials: Mapping[str, str], request: WebhookRequest, *, now_ms: int) -> None:
        """Raise `WebhookRejected` unless `request` is signed with the system's secret and fresh."""
        ...

    def changes(self, body: bytes) -> list[Pushed]:
        """What a verified delivery reports; `ValueError` for a body of the wrong shape."""
        ...


def lowered(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def group(pairs: list[tuple[Entity, Change]]) -> list[Pushed]:
    """`(entity, change)` pairs grouped by entity, in first-seen order."""
    by_entity: dict[Entity, list[Change]] = {}
    for entity, change in pairs:
        by_entity.setdefault(entity, []).append(change)
    return [Pushed(entity, tuple(changes)) for entity, changes in by_entity.items()]
