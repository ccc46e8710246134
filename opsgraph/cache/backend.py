"""The cashews backend: in-memory by default, Redis when a URL is given."""

from __future__ import annotations

from urllib.parse import urlparse

from cashews import Cache

from opsgraph.cache.local_copy import LOCAL_COPY_SCHEME

MEMORY_URL = "mem://"
REDIS_SCHEMES = ("redis", "rediss")


def create_backend(
    redis_url: str | None = None,
    *,
    memory_size: int = 100_000,
    socket_timeout_s: float = 0.5,
    max_connections: int = 50,
    local_size: int = 10_000,
) -> Cache:
    """A dedicated `cashews.Cache` (never the global `cashews.cache`), set up but not yet connected.

    - `None` or `mem://`: a per-process LRU of `memory_size` entries. Values are stored as objects, not
      pickled: what the cache returns is shared, so cached values must not be mutated (the canonical
      models are frozen).
    - `redis://` / `rediss://`: values pickled, with a local copy of up to `local_size` values that
      Redis invalidates (`local_copy.py`): a warm read costs what it costs on mem://, and a key written
      or deleted by any replica leaves every copy within a Redis round trip. While Redis hangs, the
      copy still serves what it holds. Short socket timeouts so a dead or hung Redis fails in
      about `socket_timeout_s`, no client-side retries, and `suppress=False` so failures raise
      `CacheBackendInteractionError`: `ReadCache` turns them into a logged, counted fall-back to the
      source (other users of this backend must catch them too).

    Close it with `await backend.close()` when the app stops.
    """
    cache = Cache(name="opsgraph")
    if redis_url is None or redis_url.startswith(MEMORY_URL):
        # the expiry sweep walks the whole store; expired entries are also dropped lazily on read
        cache.setup(MEMORY_URL, size=memory_size, check_interval=60)
        return cache
    scheme = urlparse(redis_url).scheme
    if scheme not in REDIS_SCHEMES:
        raise ValueError(f"cache URL must be mem:// or redis(s)://, got scheme {scheme!r}")
    cache.setup(
        f"{LOCAL_COPY_SCHEME}://",
        address=redis_url,
        local_size=local_size,
        suppress=False,
        socket_connect_timeout=socket_timeout_s,
        socket_timeout=socket_timeout_s,
        wait_for_connection_timeout=2 * socket_timeout_s,
        max_connections=max_connections,
        client_name="opsgraph-cache",
        check_repr=False,  # cashews would repr() every value it unpickles
    )
    return cache
