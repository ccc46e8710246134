"""HubSpot webhook request validation, signature v3 (the simulator signs, a receiver verifies).

v3: `X-HubSpot-Signature-v3` = base64(HMAC-SHA256(app client secret,
method + URI (URL-decoded) + raw body + `X-HubSpot-Request-Timestamp`)), the timestamp in epoch
milliseconds; a request older than five minutes is rejected, whatever its signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import unquote

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
MAX_AGE_MS = 5 * 60 * 1000


class WebhookRejected(ValueError):
    """A webhook request that must not be trusted: `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
