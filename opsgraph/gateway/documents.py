"""Parsed documents cached by bytes, not by count: a few huge documents cannot fill memory.

Strawberry's `ParserCache` keeps the last 128 documents whatever their size; with 1 MiB bodies
that is over 100 MiB of query text and many times that in AST. `DocumentCache` keeps documents
of at most `max_document_bytes` of query text, least recently used out first once the texts
add up to more than `max_bytes`. Its key includes the parse options (the token limit), like
strawberry's. Larger documents are parsed per request, and skip the validation cache too
(`BoundedValidationCache`): that cache would otherwise hold on to them as its keys.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, ClassVar

from graphql import DocumentNode, GraphQLError, parse
from strawberry.extensions import SchemaExtension, ValidationCache

__all__ = ["BoundedValidationCache", "DocumentCache", "ParsedDocuments", "document_cache_extensions"]


class ParsedDocuments:
    """An LRU of parsed documents bounded by the total bytes of their query texts."""

    def __init__(self, max_bytes: int, max_document_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.max_document_bytes = max_document_bytes
        self.bytes = 0
        self.hits = self.misses = 0
        self._entries: OrderedDict[tuple[str, tuple[tuple[str, Any], ...]], tuple[DocumentNode, int]] = (
            OrderedDict()
        )

    def __len__(self) -> int:
        return len(self._entries)

    def cacheable(self, query: str) -> bool:
        return len(query) <= self.max_document_bytes and _size(query) <= self.max_document_bytes

    def parse(self, query: str, **options: Any) -> DocumentNode:
        if not self.cacheable(query):
            self.misses += 1
            return parse(query, **options)
        key = (query, tuple(sorted(options.items())))
        entry = self._entries.get(key)
        if entry is not None:
            self.hits += 1
            self._entries.move_to_end(key)
            return entry[0]
        self.misses += 1
        document = parse(query, **options)  # a syntax error propagates and is not cached
        size = _size(query)
        self._entries[key] = (document, size)
        self.bytes += size
        while self.bytes > self.max_bytes:
            _, (_, evicted) = self._entries.popitem(last=False)
            self.bytes -= evicted
        return document


def _size(query: str) -> int:
    return len(query) if query.isascii() else len(query.encode())


class DocumentCache(SchemaExtension):
    """Parses through the schema's `ParsedDocuments` (bound by `document_cache_extensions`)."""

    documents: ClassVar[ParsedDocuments]

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None:
            # A syntax error is left to strawberry's own parse, which reports it as a request
            # error on every transport (raised from here, it escapes `Schema.stream`).
            with contextlib.suppress(GraphQLError):
                context.graphql_document = self.documents.parse(context.query, **context.parse_options)
        yield


class BoundedValidationCache(ValidationCache):
    """Strawberry's validation cache (rules built once, #4635) for cacheable documents only."""

    documents: ClassVar[ParsedDocuments]

    def on_validate(self) -> Iterator[None]:
        query = self.execution_context.query
        if query is not None and self.documents.cacheable(query):
            yield from super().on_validate()
        else:
            yield


def document_cache_extensions(max_bytes: int, max_document_bytes: int) -> list[type[SchemaExtension]]:
    """The parse and validation cache extensions for one schema, sharing one `ParsedDocuments`."""
    documents = ParsedDocuments(max_bytes, max_document_bytes)
    attrs = {"documents": documents}
    return [
        type("BoundDocumentCache", (DocumentCache,), attrs),
        type("BoundValidationCache", (BoundedValidationCache,), attrs),
    ]
