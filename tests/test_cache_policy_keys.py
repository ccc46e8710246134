"""CachePolicy, key building, the backend factory and the Prometheus rendering."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import cashews
import pytest
from cashews import Cache
from pydantic import ValidationError

from opsgraph.cache import (
    CacheMetric,
    CachePolicy,
    create_backend,
    entity_key,
    prometheus_lines,
    query_key,
    tag,
)
from opsgraph.cache.keys import NAMESPACE, entity_tag, lock_key
from opsgraph.model import Role

pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")


# ------------------------------------------------------------------ policy


def test_policy_defaults() -> None:
    policy = CachePolicy()
    assert policy.enabled
    assert policy.stale_grace_s == 600
    expected = {
        "client": 3600,
        "resource": 3600,
        "psa_user": 3600,
        "engagement": 900,
        "assignment": 900,
        "opportunity": 300,
        "client_opportunities": 300,
        "customer_by_client": 3600,
        "customer": 3600,
        "job": 900,
        "period": 3600,
        "invoice": 120,
        "time_entry": 30,
        "time_posting": 30,
        "time_off": 900,
    }
    assert {entity: policy.ttl_for(entity) for entity in expected} == expected
    assert policy.ttl_for("something_else") == policy.default_ttl_s == 300


def test_entity_names_are_normalised() -> None:
    policy = CachePolicy()
    assert policy.ttl_for("TimeEntry") == policy.ttl_for("time-entry") == policy.ttl_for("time_entry") == 30
    assert policy.ttl_for("TimePosting") == policy.ttl_for("time-posting") == 30
    assert policy.ttl_for("TimeOff") == 900


def test_overrides_merge_with_the_defaults() -> None:
    policy = CachePolicy.model_validate({"ttls": {"Invoice": 60, "widget": 5}, "default_ttl_s": 10})
    assert policy.ttl_for("invoice") == 60
    assert policy.ttl_for("widget") == 5
    assert policy.ttl_for("client") == 3600
    assert policy.ttl_for("unknown") == 10
    assert policy.lifetime_for("invoice") == 660
    assert policy.max_lifetime_s == 3600 + 600


@pytest.mark.parametrize(
    "bad",
    [{"unknown_setting": 1}, {"ttls": {"invoice": 0}}, {"default_ttl_s": 0}, {"stale_grace_s": -1}],
)
def test_bad_policy_is_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        CachePolicy.model_validate(bad)


# ------------------------------------------------------------------ keys


def test_keys_are_namespaced_and_scoped() -> None:
    key = entity_key("default", "psa-na", "time_entry", "42")
    assert key == "opsgraph:v1:default:psa-na:e:time_entry:42"
    assert entity_key("finance", "psa-na", "time_entry", "42") != key
    assert query_key("default", "psa-na", "entries", {}).startswith(NAMESPACE + "default:psa-na:q:entries:")


def test_parts_are_escaped_so_keys_cannot_collide() -> None:
    assert entity_key("a:b", "s", "e", "1") != entity_key("a", "b:s", "e", "1")
    assert entity_key("d", "s", "e", "x:y") == "opsgraph:v1:d:s:e:e:x%3Ay"
    assert tag("s", "e", "a:b") != tag("s", "e:a", "b")


def test_query_key_is_stable_and_sorted() -> None:
    one = query_key("default", "psa-na", "entries", {"from": date(2024, 1, 1), "user": 7, "billed": None})
    two = query_key("default", "psa-na", "entries", {"billed": None, "user": 7, "from": date(2024, 1, 1)})
    assert one == two
    assert one.endswith("billed=null&from=%222024-01-01%22&user=7")
    assert query_key("d", "s", "q", {"ids": {"b", "a"}}) == query_key("d", "s", "q", {"ids": frozenset("ab")})
    assert query_key("d", "s", "q", {"x": 1}) != query_key("d", "s", "q", {"x": "1"})
    assert query_key("d", "s", "q", {"amount": Decimal("1.50"), "role": Role.PSA}).endswith(
        "amount=%221.50%22&role=%22psa%22"
    )


def test_long_params_are_hashed() -> None:
    params = {"ids": [str(i) for i in range(100)]}
    key = query_key("default", "crm-emea", "clients", params)
    assert key.split(":")[-1].startswith("sha256-")
    assert len(key) < 150
    assert key == query_key("default", "crm-emea", "clients", dict(params))
    assert key != query_key("default", "crm-emea", "clients", {"ids": [str(i) for i in range(101)]})


def test_tags_have_no_scope_and_lock_keys_ignore_order() -> None:
    assert tag("psa-na", "time_entry", "42") == "psa-na:time_entry:42"
    assert entity_tag("psa-na", "time_entry") == "psa-na:time_entry:*"
    assert lock_key(["b", "a"]) == lock_key(["a", "b", "a"])
    assert lock_key(["a"]).startswith(NAMESPACE + "lock:")


# ------------------------------------------------------------------ backend factory


async def test_create_backend_gives_a_dedicated_memory_cache() -> None:
    one, two = create_backend(), create_backend("mem://")
    try:
        assert isinstance(one, Cache)
        assert one is not cashews.cache and one is not two
        await one.set("k", 1)
        assert await one.get("k") == 1
        assert await two.get("k") is None
    finally:
        await one.close()
        await two.close()


async def test_create_backend_uses_redis_when_given_a_url(redis_server: str) -> None:
    one, two = create_backend(redis_server), create_backend(redis_server)
    try:
        await one.set("opsgraph:v1:test:shared", ("v", 1.0))
        assert await two.get("opsgraph:v1:test:shared") == ("v", 1.0)
        await one.delete("opsgraph:v1:test:shared")
    finally:
        await one.close()
        await two.close()


def test_create_backend_rejects_other_schemes() -> None:
    with pytest.raises(ValueError, match="mem:// or redis"):
        create_backend("memcached://localhost")


# ------------------------------------------------------------------ prometheus


def test_prometheus_lines() -> None:
    lines = prometheus_lines(
        [
            CacheMetric("psa-na", "time_entry", hits=3, misses=1),
            CacheMetric('we"ird', "x", errors=2),
        ]
    )
    assert lines[:4] == [
        "# HELP opsgraph_cache_hits_total Values served fresh from the cache",
        "# TYPE opsgraph_cache_hits_total counter",
        'opsgraph_cache_hits_total{system="psa-na",entity="time_entry"} 3',
        'opsgraph_cache_hits_total{system="we\\"ird",entity="x"} 0',
    ]
    assert 'opsgraph_cache_misses_total{system="psa-na",entity="time_entry"} 1' in lines
    assert 'opsgraph_cache_errors_total{system="we\\"ird",entity="x"} 2' in lines
    names = {line.split("{")[0] for line in lines if not line.startswith("#")}
    assert names == {
        "opsgraph_cache_hits_total",
        "opsgraph_cache_misses_total",
        "opsgraph_cache_stale_serves_total",
        "opsgraph_cache_evictions_total",
        "opsgraph_cache_errors_total",
    }
