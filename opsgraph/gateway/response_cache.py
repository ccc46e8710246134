"""The response cache at the door of `/graphql` (`cache/responses.py` holds the entries).

Before anything is parsed (by `door.py`, ahead of every middleware), a GET or JSON POST is keyed by
its document's SHA-256 (the query's, or the `persistedQuery` hash an APQ or trusted-document request
sends instead), its operation name, all its variables and the caller's authorization scope (roles,
anonymity and row scopes: two scopes never share a response). A hit writes the stored bytes to the
socket and nothing else runs (the door adds the headers every response carries). A miss runs the
request; its response is stored when it was a query over HTTP that came out clean: no errors, no
warnings (STALE_DATA), every value read through the cache and fresh (`ReadThrough`), nothing
invalidated meanwhile. Mutations and subscriptions are never stored, so never served.
`Cache-Control: no-cache` (or `no-store`) from the client skips the lookup; the fresh response then
replaces the entry.

Each request says what happened in `X-Response-Cache: hit | miss | bypass`, and counts it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.datastructures import QueryParams

from opsgraph.auth import Caller
from opsgraph.cache.keys import response_key
from opsgraph.cache.responses import CachedResponse, ResponseCache
from opsgraph.resolvers.reads import ReadThrough
from opsgraph.telemetry.record import current_record

__all__ = ["LOOKUP_KEY", "RESPONSE_CACHE_HEADER", "Lookup", "hit_headers", "lookup", "lookup_key", "store"]

RESPONSE_CACHE_HEADER = "x-response-cache"
LOOKUP_KEY = "opsgraph.response_cache"
"""Where the door leaves a miss's or bypass's `Lookup` in the ASGI scope, for the view."""
_HEADER_BYTES = RESPONSE_CACHE_HEADER.encode()
_HASH = re.compile(r"[0-9a-fA-F]{64}")
_SKIP_DIRECTIVES = ("no-cache", "no-store")


@dataclass(slots=True)
class Lookup:
    """One request at the response cache."""

    cache: ResponseCache
    key: str | None
    """None: the request cannot be keyed (it bypasses the cache and is not stored)."""
    result: str
    """`hit`, `miss` or `bypass`."""
    since: int
    """The cache's invalidation generation when the request arrived."""
    entry: CachedResponse | None = None
    reads: ReadThrough | None = None
    """The request's reads (set by the view when it builds the context): what its response holds."""


def scope_of(caller: Caller) -> str:
    """The authorization scope a response depends on: what the policy decides from (roles and
    anonymity: denied fields and mutations; scopes: row rules)."""
    return f"{caller.scope_key}|{'anonymous' if caller.method == 'anonymous' else 'authenticated'}"


def lookup_key(
    method: str,
    query_string: bytes,
    content_type: str,
    accept: str,
    body: bytes,
    caller: Caller | None,
    resolves: Callable[[str], bool],
) -> str | None:
    """The request's key, from its raw parts (a POST's `body` already read); None when it cannot be
    keyed (it bypasses the cache and is not stored). `resolves(hash)`: whether a request sending only
    that hash would run (APQ on, or a trusted document); when not, it is not keyed."""
    if caller is None or "text/event-stream" in accept:
        return None  # no caller: not the gateway's HTTP path; SSE: a subscription
    params: Any
    try:
        if method == "GET":
            query_params = QueryParams(query_string)
            params = {
                "query": query_params.get("query"),
                "operationName": query_params.get("operationName"),
                "variables": _json(query_params.get("variables")),
                "extensions": _json(query_params.get("extensions")),
            }
        elif method == "POST" and "application/json" in content_type:
            params = orjson.loads(body)  # not JSON: the view answers it (a 400)
        else:
            return None
    except orjson.JSONDecodeError:
        return None
    if not isinstance(params, dict):
        return None
    query, operation = params.get("query"), params.get("operationName")
    variables, extensions = params.get("variables"), params.get("extensions")
    if not isinstance(variables, dict | None) or not isinstance(operation, str | None):
        return None
    persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    digest = hashlib.sha256(query.encode()).hexdigest() if isinstance(query, str) else None
    if persisted is not None:
        if not isinstance(persisted, dict):
            return None  # the view refuses it
        sent = persisted.get("sha256Hash")
        if persisted.get("version") != 1 or not isinstance(sent, str) or not _HASH.fullmatch(sent):
            return None  # the view refuses it
        if digest is not None and digest != sent.lower():
            return None  # the view refuses it (the hash does not match)
        if digest is None and not resolves(sent.lower()):
            return None  # the view answers it (PERSISTED_QUERY_NOT_SUPPORTED or NOT_FOUND)
        digest = sent.lower()
    if digest is None or not (query is None or isinstance(query, str)):
        return None
    return response_key(digest, operation, variables, scope_of(caller))


async def lookup(cache: ResponseCache, key: str | None, cache_control: str) -> Lookup:
    """Look the keyed request up, unless it cannot be keyed or the client asks not to (`no-cache`)."""
    since = cache.generation
    if key is None:
        return Lookup(cache, None, "bypass", since)
    control = cache_control.lower()
    if any(d in control for d in _SKIP_DIRECTIVES):
        return Lookup(cache, key, "bypass", since)
    entry = await cache.get(key)
    return Lookup(cache, key, "hit" if entry is not None else "miss", since, entry)


def _json(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def hit_headers(
    entry: CachedResponse, media_type: bytes, *, get: bool, now: float
) -> list[tuple[bytes, bytes]]:
    """A hit's own headers. Over GET, `Cache-Control` and `Age` as the view gives them
    (`http.cache_headers`): `max-age` counts from when the oldest value was fetched, `Age` is its age."""
    headers = [
        (b"content-type", media_type),
        (b"content-length", str(len(entry.body)).encode()),
        (_HEADER_BYTES, b"hit"),
    ]
    if get:
        age = int(now - entry.born_at)
        max_age = int(entry.expires_at - now) + age
        headers.append((b"cache-control", f"private, max-age={max_age}".encode()))
        headers.append((b"age", str(age).encode()))
    return headers


async def store(found: Lookup, status: int, body: bytes) -> None:
    """Keep the response of a miss (or a bypass with a key) when it may be served again."""
    reads = found.reads
    record = current_record()
    if (
        found.key is None
        or status != 200
        or reads is None
        or reads.tags is None
        or reads.uncached
        or reads.warnings
        or reads.min_ttl_s is None
        or record is None
        or record.operation_type != "query"
        or _has_errors(body)
    ):
        return
    await found.cache.put(
        found.key,
        body,
        reads.tags,
        ttl_s=reads.min_ttl_s,
        age_s=reads.max_age_s,
        operation=record.operation_name,
        since=found.since,
    )


def _has_errors(body: bytes) -> bool:
    """Whether the response carries errors or extensions (cheap: only a clean body is worth a look)."""
    return b'"errors"' in body and "errors" in orjson.loads(body)
