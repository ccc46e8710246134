"""Caching for the read path: TTL policy per entity, scoped keys, tag invalidation, stampede
protection and stale-on-failure, over cashews (in-memory, or Redis when configured)."""

from opsgraph.cache.backend import create_backend
from opsgraph.cache.keys import entity_key, entity_tag, query_key, tag
from opsgraph.cache.metrics import CacheMetric, prometheus_lines
from opsgraph.cache.policy import CachePolicy
from opsgraph.cache.store import SOURCE_DOWN_ERRORS, CacheRead, ReadCache

__all__ = [
    "SOURCE_DOWN_ERRORS",
    "CacheMetric",
    "CachePolicy",
    "CacheRead",
    "ReadCache",
    "create_backend",
    "entity_key",
    "entity_tag",
    "prometheus_lines",
    "query_key",
    "tag",
]
