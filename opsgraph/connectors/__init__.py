"""Connectors: the shared transport (`base`: retries, breaker, health, metrics) and one kit per vendor.

Each kit is `<vendor>/client.py` + `mapping.py` (+ `resources.py` where declared). The vendors'
simulators live apart, in the top-level `simulators` package.
"""
