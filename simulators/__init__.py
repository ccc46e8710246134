"""Faithful vendor API simulators and the seeded world they project (ARCHITECTURE §1-2).

Apart from the `opsgraph` package: used by `opsgraph serve --demo`, `opsgraph simulate`, the tests
and the benchmarks, never by the gateway itself. Needs the `sim` extra (sqlglot).
"""
