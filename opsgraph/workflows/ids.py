"""Workflow ids and input fingerprints: the idempotency contract (ARCHITECTURE section 6.3)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def workflow_id(caller: str, kind: str, idempotency_key: str) -> str:
    """The same (caller, mutation, key) always names the same workflow; callers never share one."""
    digest = hashlib.sha256(json.dumps([caller, kind, idempotency_key]).encode()).hexdigest()
    return f"{kind}-{digest[:32]}"


def fingerprint(data: dict[str, Any]) -> str:
    """A digest of the validated input (JSON, keys sorted): equal inputs, equal fingerprints."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
