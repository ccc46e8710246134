"""Cache keys and tags. Every key lives under `opsgraph:v1:`; bump the version when a cached shape changes.

- entity key: `opsgraph:v1:<scope>:<source>:e:<entity>:<id>`
- query key:  `opsgraph:v1:<scope>:<source>:q:<query>:<params>` (params sorted, hashed when long)
- response:   `opsgraph:v1:r:<sha256 of document hash, operation, variables and scope>`
- tag:        `<source>:<entity>:<id>` (no scope: invalidating an entity drops it for every scope);
              `<source>:<entity>:*` is the entity-wide tag every list of that entity carries.

`<source>` is the configured system's name (`psa-na`), `<id>` the record's local id there, so two
systems of one vendor never share a key or a tag. Each part is percent-encoded, so a `:` inside an id
or a parameter can never make two keys collide.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from urllib.parse import quote

import orjson

NAMESPACE = "opsgraph:v1:"
ALL_IDS = "*"
MAX_PARAMS_LEN = 96


def _part(value: object) -> str:
    return quote(str(value), safe="*")


def entity_key(scope: str, source: str, entity: str, id: str) -> str:
    """Key of one record, as a loader reads it by id."""
    return f"{NAMESPACE}{_part(scope)}:{_part(source)}:e:{_part(entity)}:{_part(id)}"


def query_key(scope: str, source: str, query: str, params: Mapping[str, object]) -> str:
    """Key of a list or child query; equal parameter mappings give equal keys, whatever their order."""
    return f"{NAMESPACE}{_part(scope)}:{_part(source)}:q:{_part(query)}:{params_fingerprint(params)}"


def params_fingerprint(params: Mapping[str, object]) -> str:
    """`a=1&b=%22x%22` (values as JSON) for short parameter sets, `sha256-<hex>` for long ones, `-` for
    none."""
    if not params:
        return "-"
    canonical = {str(k): _canonical(v) for k, v in params.items()}
    text = "&".join(
        f"{_part(k)}={_part(json.dumps(v, sort_keys=True, separators=(',', ':')))}"
        for k, v in sorted(canonical.items())
    )
    if len(text) <= MAX_PARAMS_LEN:
        return text
    return "sha256-" + hashlib.sha256(text.encode()).hexdigest()


def _canonical(value: object) -> object:
    """A JSON-able form that is equal for equal values (sets sorted, dates ISO, enums by value)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return _canonical(value.value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((_canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, Iterable) and not isinstance(value, bytes):
        return [_canonical(v) for v in value]
    return str(value)


def response_key(
    document_hash: str, operation: str | None, variables: Mapping[str, object] | None, scope: str
) -> str:
    """Key of one whole response: the document (its SHA-256), the operation, every variable (as
    canonical JSON: key order does not matter) and the caller's authorization scope."""
    parts = [document_hash, operation, _canonical(variables or {}), scope]
    try:
        canonical = orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # an integer past 64 bits
        canonical = json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()
    return f"{NAMESPACE}r:" + hashlib.sha256(canonical).hexdigest()


def tag(source: str, entity: str, id: str) -> str:
    """The tag of one record; `invalidate(source, entity, id)` drops everything carrying it."""
    return f"{_part(source)}:{_part(entity)}:{_part(id)}"


def entity_tag(source: str, entity: str) -> str:
    """The entity-wide tag: every list of that entity carries it, so any change to the entity drops them."""
    return tag(source, entity, ALL_IDS)


def tag_index_key(tag_: str, bucket: int) -> str:
    """The set of keys that carry `tag_`, for keys written in time bucket `bucket` (see `tagindex`)."""
    return f"{NAMESPACE}tag:{bucket}:{tag_}"


def lock_key(keys: Iterable[str]) -> str:
    """The stampede lock of one set of keys (order-insensitive)."""
    digest = hashlib.sha256("\n".join(sorted(set(keys))).encode()).hexdigest()[:32]
    return f"{NAMESPACE}lock:{digest}"
