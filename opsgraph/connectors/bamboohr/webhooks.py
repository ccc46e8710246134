"""BambooHR webhooks: `X-BambooHR-Signature` is the hex HMAC-SHA256 (the webhook's secret) of the raw
body followed by `X-BambooHR-Timestamp` (epoch seconds); a delivery older than five minutes is refused.

Body: `{"type": "employee.updated", "timestamp", "data": {"companyId", "employeeId", "changedFields"}}`
(also `employee.created`, `employee.deleted`); a list of such events is accepted too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from opsgraph.connectors.webhooks import Pushed, WebhookRejected, WebhookRequest, group, lowered
from opsgraph.roles import Change, ChangeKind, Entity

__all__ = ["BambooHRWebhooks", "sign", "signed_headers", "verify"]

SIGNATURE_HEADER = "X-BambooHR-Signature"
TIMESTAMP_HEADER = "X-BambooHR-Timestamp"
MAX_AGE_S = 5 * 60


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    return hmac.new(secret, body + timestamp.encode(), hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, timestamp_s: int) -> dict[str, str]:
    stamp = str(timestamp_s)
    return {
        SIGNATURE_HEADER: sign(secret.encode(), stamp, body),
        TIMESTAMP_HEADER: stamp,
        "Content-Type": "application/json",
    }


def verify(secret: str, body: bytes, headers: Mapping[str, str], *, now_s: float) -> None:
    """Raise `WebhookRejected` unless the delivery is signed with `secret` and at most five minutes old
    (or more than a minute ahead: a clock that far off is not trusted either)."""
    found = lowered(headers)
    signature, stamp = found.get(SIGNATURE_HEADER.lower()), found.get(TIMESTAMP_HEADER.lower())
    if not signature or not stamp:
        raise WebhookRejected("missing signature or timestamp header")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookRejected(f"malformed timestamp: {stamp!r}") from None
    if now_s - timestamp > MAX_AGE_S or timestamp - now_s > 60:
        raise WebhookRejected("timestamp outside five minutes of now")
    if not hmac.compare_digest(sign(secret.encode(), stamp, body).encode(), signature.encode()):
        raise WebhookRejected("signature does not match")


class BambooHRWebhooks:
    """The kit the gateway's webhook route uses: the secret is the `webhook_secret` credential."""

    def verify(self, credentials: Mapping[str, str], request: WebhookRequest, *, now_ms: int) -> None:
        secret = credentials.get("webhook_secret")
        if not secret:
            raise WebhookRejected("no webhook_secret configured for this system's webhooks")
        verify(secret, request.body, request.headers, now_s=now_ms / 1000)

    def changes(self, body: bytes) -> list[Pushed]:
        raw = json.loads(body)
        events: list[Any] = raw if isinstance(raw, list) else [raw]
        pairs: list[tuple[Entity, Change]] = []
        for event in events:
            data = event.get("data") if isinstance(event, dict) else None
            if not isinstance(data, dict) or data.get("employeeId") is None:
                raise ValueError("a BambooHR webhook event carries data.employeeId")
            deleted = event.get("type") == "employee.deleted"
            change = Change(
                id=str(data["employeeId"]), kind=ChangeKind.DELETED if deleted else ChangeKind.UPSERTED
            )
            pairs.append((Entity.RESOURCE, change))
        return group(pairs)
