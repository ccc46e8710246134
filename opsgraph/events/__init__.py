"""Change detection, the event bus and subscription fan-out (ARCHITECTURE section 7).

- `marks`: the high-water mark of each (system, entity), in memory or in Redis.
- `poller`: one poll of a system through its role port's `changed_since`.
- `bus`: readiness events to subscribers, in-process or over Redis pub/sub.
- `effects`: what a change does: invalidate its cache tags, recompute readiness where it touches it.
- `service`: the whole, started and stopped with the app's lifespan.
"""
