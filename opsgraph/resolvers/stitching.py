"""Identity stitching across systems by the explicit join keys of ARCHITECTURE.md section 3.

A broken link never raises: it becomes a `DataQualityIssue` on the record.
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
    SourceName,
)


def engagement_issues(
    project: Engagement, job: ErpJob | None, opportunity: Opportunity | None
) -> list[DataQualityIssue]:
    issues: list[DataQualityIssue] = []
    if job is None:
        issues.append(
            DataQualityIssue(
                code="MISSING_IN_ERP",
                source=SourceName.NETSUITE,
                record_id=project.code,
                field="entityId",
                message=f"No NetSuite job has entityId {project.code!r}",
            )
        )
    elif job.is_inactive and project.is_active:
        issues.append(
            DataQualityIssue(
                code="INACTIVE_IN_ERP",
                source=SourceName.NETSUITE,
                record_id=job.id,
                field="isInactive",
                message=f"Job {project.code} is inactive in NetSuite but active in Harvest",
            )
        )
    if opportunity is None:
        issues.append(
            DataQualityIssue(
                code="MISSING_IN_CRM",
                source=SourceName.SALESFORCE,
                record_id=project.code,
                field="Engagement_Code__c",
                message=f"No Salesforce opportunity carries engagement code {project.code!r}",
            )
        )
    if job is not None and opportunity is not None and job.opportunity_id not in (None, opportunity.id):
        issues.append(
            DataQualityIssue(
                code="LINK_MISMATCH",
                source=SourceName.NETSUITE,
                record_id=job.id,
                field="externalId",
                message=f"Job externalId {job.opportunity_id} differs from opportunity {opportunity.id}",
            )
        )
    return issues


def client_issues(client: Client, customer: ErpCustomer | None) -> list[DataQualityIssue]:
    issues: list[DataQualityIssue] = []
    if customer is None:
        issues.append(
            DataQualityIssue(
                code="MISSING_IN_ERP",
                source=SourceName.NETSUITE,
                record_id=client.id,
                field="externalId",
                message=f"No NetSuite customer has externalId {client.id}",
            )
        )
    if not client.legal_entity and not (customer and customer.legal_entity):
        issues.append(
            DataQualityIssue(
                code="MISSING_LEGAL_ENTITY",
                source=SourceName.SALESFORCE,
                record_id=client.id,
                field="Legal_Entity__c",
                message=f"Client {client.name} has no legal entity, so it cannot be invoiced",
            )
        )
    return issues


def resource_issues(user: PsaUser | None, resource: Resource | None, email: str) -> list[DataQualityIssue]:
    if resource is None:
        return [
            DataQualityIssue(
                code="MISSING_IN_HR",
                source=SourceName.BAMBOOHR,
                record_id=str(user.id) if user else None,
                field="workEmail",
                message=f"Harvest user {email} has no BambooHR employee record",
            )
        ]
    if user is None:
        return [
            DataQualityIssue(
                code="MISSING_IN_PSA",
                source=SourceName.HARVEST,
                record_id=resource.id,
                field="email",
                message=f"Employee {email} has no Harvest user",
            )
        ]
    return []
