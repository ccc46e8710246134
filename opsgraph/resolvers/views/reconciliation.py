"""Reconciliation: PSA-approved hours against ERP-posted hours, per engagement."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from opsgraph.model import DataQualityIssue, ErpJob, TimeEntry, TimeEntryStatus, TimePosting, record_key
from opsgraph.resolvers.views.hire import TimeBeforeHire
from opsgraph.resolvers.views.order import record_order


@dataclass(frozen=True)
class ReconciliationRow:
    engagement_code: str
    psa_approved_hours: float
    erp_posted_hours: float
    difference: float
    unposted_entry_keys: tuple[str, ...]
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class ReconciliationReport:
    start: date
    end: date
    engagements_checked: int
    matched: int
    mismatches: list[ReconciliationRow]
    data_quality: list[DataQualityIssue] = field(default_factory=list)
    time_before_hire: list[TimeBeforeHire] = field(default_factory=list)


def reconcile(
    start: date,
    end: date,
    entries: list[TimeEntry],
    postings: list[TimePosting],
    jobs_by_key: dict[str, ErpJob],
    jobs_by_code: dict[str, ErpJob | None],
    data_quality: list[DataQualityIssue],
    time_before_hire: list[TimeBeforeHire] | None = None,
) -> ReconciliationReport:
    """`jobs_by_key`: the postings' jobs by job key; a posting's `time_entry_id` is the PSA entry's
    local id."""
    approved = [e for e in entries if e.status is not TimeEntryStatus.UNAPPROVED and start <= e.date <= end]
    posted_ids = {t.time_entry_id for t in postings if t.time_entry_id is not None}
    psa_hours: dict[str, float] = defaultdict(float)
    unposted: dict[str, list[TimeEntry]] = defaultdict(list)
    for e in approved:
        code = e.engagement_code or e.engagement_id
        psa_hours[code] += e.hours
        if e.id not in posted_ids:
            unposted[code].append(e)
    erp_hours: dict[str, float] = defaultdict(float)
    for t in postings:
        job = jobs_by_key.get(record_key(t.system, t.job_id)) if t.job_id else None
        if job is not None:  # a posting with no job is not any engagement's
            erp_hours[job.code] += t.hours
    codes = sorted(set(psa_hours) | set(erp_hours))
    rows = []
    for code in codes:
        psa, erp = round(psa_hours.get(code, 0.0), 2), round(erp_hours.get(code, 0.0), 2)
        if psa == erp and not unposted.get(code):
            continue
        reasons = []
        if jobs_by_code.get(code) is None:
            reasons.append("MISSING_IN_ERP")
        if unposted.get(code):
            reasons.append("UNPOSTED_TIME")
        if erp > psa:
            reasons.append("ERP_EXCEEDS_PSA")
        rows.append(
            ReconciliationRow(
                code,
                psa,
                erp,
                round(psa - erp, 2),
                tuple(e.key for e in sorted(unposted.get(code, []), key=record_order)),
                tuple(reasons),
            )
        )
    return ReconciliationReport(
        start, end, len(codes), len(codes) - len(rows), rows, data_quality, time_before_hire or []
    )
