"""Identity stitching across systems by the explicit join keys of ARCHITECTURE.md section 3.

A broken link never raises: it becomes a `DataQualityIssue` on the record, in canonical words. An
issue about a record that is there names that record's system; an issue about a MISSING record names
the system where it was looked for (the role's first system in declared order: the one that would own
it), and its `record_id` is the join value or the id of the record whose link is broken.
"""

from __future__ import annotations

from opsgraph.model import (
    Client,
    DataQualityIssue,
    Engagement,
    ErpCustomer,
    ErpJob,
    Opportunity,
    PsaUser,
    Resource,
    Role,
)
from opsgraph.resolvers.sources import Sources


def owner_name(sources: Sources, role: Role) -> str:
    """The system a missing record of `role` was looked for in ("" when none of the role is configured)."""
    owner = sources.owner(role)
    return owner.name if owner is not None else ""


def engagement_issues(
    sources: Sources, engagement: Engagement, job: ErpJob | None, opportunity: Opportunity | None
) -> list[DataQualityIssue]:
    issues: list[DataQualityIssue] = []
    code = engagement.code
    if job is None:
        issues.append(
            DataQualityIssue(
                code="MISSING_IN_ERP",
                system=owner_name(sources, Role.ERP),
                role=Role.ERP,
                record_id=code,
                field="code",
                message=f"No ERP job has engagement code {code!r}",
            )
        )
    elif job.is_inactive and engagement.is_active:
        issues.append(
            DataQualityIssue(
                code="INACTIVE_IN_ERP",
                system=job.system,
                role=Role.ERP,
                record_id=job.id,
                field="is_active",
                message=f"Job {code} is inactive in the ERP but active in the PSA",
            )
        )
    if opportunity is None:
        issues.append(
            DataQualityIssue(
                code="MISSING_IN_CRM",
                system=owner_name(sources, Role.CRM),
                role=Role.CRM,
                record_id=code,
                field="code",
                message=f"No CRM opportunity carries engagement code {code!r}",
            )
        )
    if job is not None and opportunity is not None and job.opportunity_id not in (None, opportunity.id):
        issues.append(
            DataQualityIssue(
                code="LINK_MISMATCH",
                system=job.system,
                role=Role.ERP,
                record_id=job.id,
                field="opportunity_id",
                message=f"Job {code} names opportunity {job.opportunity_id}, not {opportunity.id}",
            )
        )
    return issues


def client_issues(sources: Sources, client: Client, customer: ErpCustomer | None) -> list[DataQualityIssue]:
    issues: list[DataQualityIssue] = []
    if customer is None:
        issues.append(
            DataQualityIssue(
                code="MISSING_IN_ERP",
                system=owner_name(sources, Role.ERP),
                role=Role.ERP,
                record_id=client.id,
                field="client_id",
                message=f"No ERP customer has client id {client.id}",
            )
        )
    if not client.legal_entity and not (customer and customer.legal_entity):
        issues.append(
            DataQualityIssue(
                code="MISSING_LEGAL_ENTITY",
                system=client.system,
                role=Role.CRM,
                record_id=client.id,
                field="legal_entity",
                message=f"Client {client.name} has no legal entity, so it cannot be invoiced",
            )
        )
    return issues


def resource_issues(
    sources: Sources, user: PsaUser | None, resource: Resource | None, email: str
) -> list[DataQualityIssue]:
    """A person known to only one of the PSA and HR (joined by email)."""
    if resource is None:
        return [
            DataQualityIssue(
                code="MISSING_IN_HR",
                system=owner_name(sources, Role.HR),
                role=Role.HR,
                record_id=user.id if user else None,
                field="email",
                message=f"PSA user {email} has no HR record",
            )
        ]
    if user is None:
        return [
            DataQualityIssue(
                code="MISSING_IN_PSA",
                system=owner_name(sources, Role.PSA),
                role=Role.PSA,
                record_id=resource.id,
                field="email",
                message=f"HR record {email} has no PSA user",
            )
        ]
    return []
