"""HubSpot webhook request validation, signature v3 (the simulator signs, a receiver verifies).

v3: `X-HubSpot-Signature-v3` = base64(HMAC-SHA256(app client secret,
method + URI (URL-decoded) + raw body + `X-HubSpot-Request-Timestamp`)), the timestamp in epoch
milliseconds; a request older than five minutes is rejected, whatever its signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import unquote

from opsgraph.connectors.webhooks import Pushed, WebhookRejected, WebhookRequest, group
from opsgraph.roles import Change, ChangeKind, Entity

__all__ = ["HubSpotWebhooks", "WebhookRejected", "sign_v3", "signed_headers", "verify_v3"]

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
MAX_AGE_MS = 5 * 60 * 1000


def sign_v3(secret: str, method: str, uri: str, body: bytes, timestamp_ms: int) -> str:
    """The v3 signature of one request; `uri` is the full URL the request was sent to."""
    source = method.upper().encode() + unquote(uri).encode() + body + str(timestamp_ms).encode()
    digest = hmac.new(secret.encode(), source, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_headers(secret: str, method: str, uri: str, body: bytes, timestamp_ms: int) -> dict[str, str]:
    return {
        SIGNATURE_HEADER: sign_v3(secret, method, uri, body, timestamp_ms),
        TIMESTAMP_HEADER: str(timestamp_ms),
        "Content-Type": "application/json",
    }


def verify_v3(
    secret: str,
    method: str,
    uri: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now_ms: int,
    max_age_ms: int = MAX_AGE_MS,
) -> None:
    """Raise `WebhookRejected` unless the request is signed with `secret` and fresh at `now_ms`."""
    lowered = {k.lower(): v for k, v in headers.items()}
    signature = lowered.get(SIGNATURE_HEADER.lower())
    stamp = lowered.get(TIMESTAMP_HEADER.lower())
    if not signature or not stamp:
        raise WebhookRejected("missing signature or timestamp header")
    try:
        timestamp_ms = int(stamp)
    except ValueError:
        raise WebhookRejected(f"malformed timestamp: {stamp!r}") from None
    if now_ms - timestamp_ms > max_age_ms:
        raise WebhookRejected("timestamp older than five minutes")
    expected = sign_v3(secret, method, uri, body, timestamp_ms)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise WebhookRejected("signature does not match")


ENTITIES = {"company": Entity.CLIENT, "deal": Entity.OPPORTUNITY}
"""Subscription type prefix -> the entity it reports (`deal.propertyChange`, `company.creation`, ...)."""


class HubSpotWebhooks:
    """The kit the gateway's webhook route uses: the secret is the app's `client_secret` credential."""

    def verify(self, credentials: Mapping[str, str], request: WebhookRequest, *, now_ms: int) -> None:
        secret = credentials.get("client_secret")
        if not secret:
            raise WebhookRejected("no client_secret configured for this system's webhooks")
        verify_v3(secret, request.method, request.url, request.body, request.headers, now_ms=now_ms)

    def changes(self, body: bytes) -> list[Pushed]:
        events = json.loads(body)
        if not isinstance(events, list):
            raise ValueError("a HubSpot webhook body is a JSON array of events")
        pairs: list[tuple[Entity, Change]] = []
        for event in events:
            if not isinstance(event, dict):
                raise ValueError("each HubSpot webhook event is an object")
            kind = str(event.get("subscriptionType", ""))
            obj, _, action = kind.partition(".")
            entity = ENTITIES.get(obj)
            if entity is None:
                continue  # contacts, tickets, ...: nothing of ours
            at, object_id = event.get("occurredAt"), event.get("objectId")
            if object_id is None:
                raise ValueError(f"a {kind} event without objectId")
            change = Change(
                id=str(object_id),
                kind=ChangeKind.DELETED if action == "deletion" else ChangeKind.UPSERTED,
                modified_at=datetime.fromtimestamp(at / 1000, UTC) if isinstance(at, int) else None,
            )
            pairs.append((entity, change))
        return group(pairs)
