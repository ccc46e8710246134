"""Persisted queries: automatic (APQ, Apollo's `persistedQuery` extension) and trusted documents.

APQ, as Apollo Server does it, over GET and POST: a request may send
`extensions: {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}` without `query`; a known
hash runs its document, an unknown one answers `PersistedQueryNotFound` (code
PERSISTED_QUERY_NOT_FOUND, HTTP 200, not cacheable), and the client sends the hash with the query,
which is checked (`provided sha does not match query`, a 400) and registered in the cache backend
(memory, or Redis shared by the replicas) for `apq_ttl_s`. Documents over `apq_max_bytes` run but
are not registered.

Trusted documents: a manifest of SHA-256 hash -> document, loaded and checked at start (Apollo's
persisted query manifest, or a flat JSON object as GraphQL Codegen writes it). Its hashes always
resolve. With `trusted_only`, nothing else runs: an unknown hash is PERSISTED_QUERY_NOT_FOUND, a
document not in the manifest is FORBIDDEN (403), and APQ registers nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

from cashews import Cache
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.http import GraphQLRequestData

from opsgraph.gateway.demand_settings import PersistedQuerySettings
from opsgraph.gateway.errors import HTTPError

__all__ = [
    "PERSISTED_QUERY_NOT_FOUND",
    "PERSISTED_QUERY_NOT_SUPPORTED",
    "PersistedQueries",
    "TrustedOnly",
    "load_manifest",
    "sha256_hex",
    "trusted_only_extension",
]

PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
FORBIDDEN = "FORBIDDEN"
KEY_PREFIX = "apq:"
NOT_TRUSTED = "Only trusted documents run on this gateway: this one is not in its manifest."
NO_CACHE = {"Cache-Control": "private, no-cache, must-revalidate"}
_HASH = re.compile(r"[0-9a-f]{64}")

log = logging.getLogger("opsgraph.persisted_queries")


def sha256_hex(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def load_manifest(path: Path) -> dict[str, str]:
    """Hash -> document from `path`; a `ValueError` naming what is wrong (each hash must be the
    SHA-256 of its document: a manifest cannot smuggle a document in under another's hash)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    if isinstance(raw, dict) and raw.get("format") == "apollo-persisted-query-manifest":
        operations = raw.get("operations")
        if not isinstance(operations, list):
            raise ValueError(f"{path}: `operations` must be a list")
        pairs = [(op.get("id"), op.get("body")) for op in operations if isinstance(op, dict)]
        if len(pairs) != len(operations):
            raise ValueError(f"{path}: each operation must be an object with `id` and `body`")
    elif isinstance(raw, dict):
        pairs = list(raw.items())
    else:
        raise ValueError(f"{path}: expected a JSON object")
    documents: dict[str, str] = {}
    for key, body in pairs:
        if not isinstance(key, str) or not isinstance(body, str):
            raise ValueError(f"{path}: {key!r}: the id and the document must be strings")
        if sha256_hex(body) != key.lower():
            raise ValueError(f"{path}: {key}: not the SHA-256 of its document")
        documents[key.lower()] = body
    return documents


class PersistedQueries:
    """Resolves a request's document before it runs (`GraphQLView.execute_single`)."""

    def __init__(
        self,
        settings: PersistedQuerySettings,
        trusted: Mapping[str, str],
        store: Callable[[], Cache | None],
    ) -> None:
        self.settings = settings
        self.trusted = dict(trusted)
        self.store = store

    @classmethod
    def from_settings(
        cls, settings: PersistedQuerySettings, store: Callable[[], Cache | None]
    ) -> PersistedQueries:
        path = settings.trusted_documents
        return cls(settings, load_manifest(path) if path is not None else {}, store)

    def resolves(self, digest: str) -> bool:
        """Whether a request sending only this hash may run: a trusted document, or APQ on."""
        return digest in self.trusted or (self.settings.apq and not self.settings.trusted_only)

    async def resolve(self, data: GraphQLRequestData) -> None:
        """Sets `data.query` from the hash it carries, checks and registers it; an `HTTPError` refuses."""
        extension = (data.extensions or {}).get("persistedQuery")
        if extension is None:
            trusted_only = self.settings.trusted_only
            if trusted_only and data.query is not None and sha256_hex(data.query) not in self.trusted:
                raise HTTPError(403, NOT_TRUSTED, code=FORBIDDEN)
            return
        digest = _hash_of(extension)
        if data.query is None:
            data.query = self.trusted.get(digest) or await self._registered(digest)
            if data.query is None:
                if not self.settings.apq and not self.trusted:
                    code, message = PERSISTED_QUERY_NOT_SUPPORTED, "PersistedQueryNotSupported"
                else:
                    code, message = PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound"
                raise HTTPError(200, message, NO_CACHE, code=code)
            return
        if sha256_hex(data.query) != digest:
            raise HTTPError(400, "provided sha does not match query")
        if self.settings.trusted_only:
            if digest not in self.trusted:
                raise HTTPError(403, NOT_TRUSTED, code=FORBIDDEN)
        elif digest not in self.trusted:
            await self._register(digest, data.query)

    async def _registered(self, digest: str) -> str | None:
        store = self.store()
        if not self.settings.apq or self.settings.trusted_only or store is None:
            return None
        try:
            value: Any = await store.get(KEY_PREFIX + digest)
        except Exception as exc:
            log.warning("persisted query store unreachable: %s", type(exc).__name__)
            return None
        return value if isinstance(value, str) else None

    async def _register(self, digest: str, query: str) -> None:
        store = self.store()
        if not self.settings.apq or store is None or len(query) > self.settings.apq_max_bytes:
            return
        try:
            await store.set(KEY_PREFIX + digest, query, expire=self.settings.apq_ttl_s)
        except Exception as exc:
            log.warning("persisted query store unreachable: %s", type(exc).__name__)


def _hash_of(extension: object) -> str:
    if not isinstance(extension, dict):
        raise HTTPError(400, "`extensions.persistedQuery` must be an object")
    if extension.get("version") != 1:
        raise HTTPError(400, "Unsupported persisted query version")
    digest = extension.get("sha256Hash")
    if not isinstance(digest, str) or not _HASH.fullmatch(digest.lower()):
        raise HTTPError(400, "`extensions.persistedQuery.sha256Hash` must be 64 hex digits")
    return digest.lower()


class TrustedOnly(SchemaExtension):
    """In trusted-only mode, refuses any other document on every transport (WebSocket and SSE
    subscriptions too; over HTTP the view has refused it already, with a 403). The gateway's own
    operations (the business metrics job: no caller) are not callers' documents."""

    trusted: ClassVar[frozenset[str]] = frozenset()

    def on_operation(self) -> Iterator[None]:
        query = self.execution_context.query
        internal = getattr(self.execution_context.context, "caller", None) is None
        if query is not None and not internal and sha256_hex(query) not in self.trusted:
            raise GraphQLError(NOT_TRUSTED, extensions={"code": FORBIDDEN})
        yield


def trusted_only_extension(settings: PersistedQuerySettings) -> list[type[SchemaExtension]]:
    if not settings.trusted_only:
        return []
    path = settings.trusted_documents
    trusted = frozenset(load_manifest(path)) if path is not None else frozenset()
    return [type("BoundTrustedOnly", (TrustedOnly,), {"trusted": trusted})]
