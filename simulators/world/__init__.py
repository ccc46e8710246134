"""One synthetic consulting firm, generated from a seed.

Every simulator serves a projection of the same `World`, so the join keys of
ARCHITECTURE.md section 3 line up across systems, except where drift is seeded
on purpose (see `Drift`). Same seed, profile and as-of date: same data, byte for byte.
"""

from simulators.world.builder import build_world
from simulators.world.records import (
    DEFAULT_AS_OF,
    PROFILES,
    RATE_CARD,
    TASKS,
    AccountingPeriod,
    Assignment,
    Client,
    Drift,
    Engagement,
    Invoice,
    InvoiceLine,
    Opportunity,
    Person,
    Profile,
    TimeEntry,
    TimeOff,
    World,
    salesforce_id,
)

__all__ = [
    "DEFAULT_AS_OF",
    "PROFILES",
    "RATE_CARD",
    "TASKS",
    "AccountingPeriod",
    "Assignment",
    "Client",
    "Drift",
    "Engagement",
    "Invoice",
    "InvoiceLine",
    "Opportunity",
    "Person",
    "Profile",
    "TimeEntry",
    "TimeOff",
    "World",
    "build_world",
    "salesforce_id",
]
