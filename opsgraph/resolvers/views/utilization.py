"""Utilization: billable hours against capacity (weekly capacity less approved time off)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from opsgraph.model import PsaUser, Resource, TimeEntry, TimeOff, record_key
from opsgraph.resolvers.views.periods import merge_spans, overlap, workdays


@dataclass(frozen=True)
class UtilizationRow:
    key: str  # by RESOURCE: the HR record's key (or the email of a person HR lacks); else the group
    label: str
    resource: Resource | None
    billable_hours: float
    total_hours: float
    capacity_hours: float
    utilization: float | None  # billable / capacity


def capacity_hours(user: PsaUser, time_off: list[TimeOff], start: date, end: date) -> float:
    """Workdays in [start, end] less approved days off, each day off counted once however many
    requests cover it (HR allows overlapping requests)."""
    daily = user.weekly_capacity_hours / 5
    spans = (overlap(t.start, t.end, start, end) for t in time_off if t.status == "approved")
    off_days = sum(workdays(*span) for span in merge_spans(s for s in spans if s is not None))
    return max(0.0, daily * (workdays(start, end) - off_days))


def compute_utilization(
    entries: list[TimeEntry],
    users: dict[str, PsaUser],
    directory: dict[str, Resource],
    time_off: list[TimeOff],
    start: date,
    end: date,
    group_by: str,
) -> list[UtilizationRow]:
    """group_by: RESOURCE, DEPARTMENT or LOCATION. People missing in HR group under their email.
    `users` is keyed by PSA user key. A person who is a user in several PSA systems (one per region)
    books to each, but their capacity is counted once."""
    off_by_resource: dict[str, list[TimeOff]] = defaultdict(list)
    for t in time_off:
        off_by_resource[record_key(t.system, t.resource_id)].append(t)
    billable: dict[str, float] = defaultdict(float)
    total: dict[str, float] = defaultdict(float)
    for e in entries:
        uid = record_key(e.system, e.user_id)
        total[uid] += e.hours
        if e.billable:
            billable[uid] += e.hours
    acc: dict[str, list[float]] = {}
    labels: dict[str, tuple[str, Resource | None]] = {}
    counted: set[str] = set()
    for uid, user in users.items():
        if not user.is_active:
            continue
        resource = directory.get(user.email.lower())
        person = resource.key if resource else user.email.lower()
        cap = 0.0
        if person not in counted:
            counted.add(person)
            cap = capacity_hours(user, off_by_resource.get(resource.key, []) if resource else [], start, end)
        if group_by == "DEPARTMENT":
            key = label = (resource.department if resource else None) or "Unknown"
            res = None
        elif group_by == "LOCATION":
            key = label = (resource.location if resource else None) or "Unknown"
            res = None
        else:
            key, label, res = (resource.key if resource else user.email), user.name, resource
        row = acc.setdefault(key, [0.0, 0.0, 0.0])
        row[0] += billable.get(uid, 0.0)
        row[1] += total.get(uid, 0.0)
        row[2] += cap
        labels[key] = (label, res)
    return [
        UtilizationRow(
            key,
            labels[key][0],
            labels[key][1],
            round(b, 2),
            round(t, 2),
            round(c, 2),
            round(b / c, 4) if c else None,
        )
        for key, (b, t, c) in sorted(acc.items(), key=lambda kv: labels[kv[0]][0])
    ]
