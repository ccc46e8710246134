"""Time logged before the person's HR hire date: the PSA and HR disagree about when someone started."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from opsgraph.model import DataQualityIssue, PsaUser, Resource, Role, TimeEntry, record_key
from opsgraph.resolvers.views.order import record_order

TIME_BEFORE_HIRE = "TIME_BEFORE_HIRE"


def hr_record(
    user_key: str, users: Mapping[str, PsaUser], directory: Mapping[str, Resource]
) -> Resource | None:
    """The HR record of a PSA user (by user key; joined by email), if any."""
    user = users.get(user_key)
    return directory.get(user.email.lower()) if user else None


def is_before_hire(entry: TimeEntry, resource: Resource | None) -> bool:
    return resource is not None and resource.hire_date is not None and entry.date < resource.hire_date


def entry_issues(entry: TimeEntry, resource: Resource | None) -> list[DataQualityIssue]:
    """The issues of one time entry against its person's HR record."""
    if not is_before_hire(entry, resource):
        return []
    assert resource is not None and resource.hire_date is not None
    return [
        DataQualityIssue(
            code=TIME_BEFORE_HIRE,
            system=entry.system,
            role=Role.PSA,
            record_id=entry.id,
            field="date",
            message=f"Logged on {entry.date}, before {resource.email} was hired ({resource.hire_date} in HR)",
        )
    ]


@dataclass(frozen=True)
class TimeBeforeHire:
    """One person's entries dated before their hire date (`entry_keys`: the entries' canonical keys)."""

    resource: Resource
    hire_date: date
    entry_keys: tuple[str, ...]
    hours: float
    first_date: date
    last_date: date


def find_time_before_hire(
    entries: Iterable[TimeEntry], users: Mapping[str, PsaUser], directory: Mapping[str, Resource]
) -> list[TimeBeforeHire]:
    """Per person (by HR key), the entries logged before their hire date; sorted by HR key.
    `users` is keyed by PSA user key."""
    found: dict[str, list[TimeEntry]] = defaultdict(list)
    people: dict[str, Resource] = {}
    for e in entries:
        resource = hr_record(record_key(e.system, e.user_id), users, directory)
        if resource is not None and is_before_hire(e, resource):
            found[resource.key].append(e)
            people[resource.key] = resource
    rows = []
    for rid in sorted(people, key=lambda k: record_order(people[k])):
        early = found[rid]
        resource = people[rid]
        assert resource.hire_date is not None
        dates = [e.date for e in early]
        rows.append(
            TimeBeforeHire(
                resource=resource,
                hire_date=resource.hire_date,
                entry_keys=tuple(e.key for e in sorted(early, key=record_order)),
                hours=round(sum(e.hours for e in early), 2),
                first_date=min(dates),
                last_date=max(dates),
            )
        )
    return rows
