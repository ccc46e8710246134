"""Salesforce resources, declared: the sObjects the client reads, their fields, ids and change field.

Listings are SOQL queries on the sObject (`path` is the query's table) that go on through
`nextRecordsUrl`; reads by ids use sObject Collections (`composite/sobjects/<name>`).
"""

from __future__ import annotations

from opsgraph.connectors.toolkit.resources import ResourceSpec

__all__ = ["ACCOUNT", "ACCOUNT_FIELDS", "KEY_PREFIX", "OPPORTUNITY", "OPPORTUNITY_FIELDS"]

ACCOUNT_FIELDS: tuple[str, ...] = (
    "Id",
    "Name",
    "Industry",
    "BillingCountry",
    "Region__c",
    "Legal_Entity__c",
    "CurrencyIsoCode",
    "SystemModstamp",
)
OPPORTUNITY_FIELDS: tuple[str, ...] = (
    "Id",
    "Name",
    "AccountId",
    "StageName",
    "Amount",
    "CloseDate",
    "Probability",
    "IsClosed",
    "IsWon",
    "Billing_Model__c",
    "Practice__c",
    "Engagement_Code__c",
    "CurrencyIsoCode",
    "SystemModstamp",
)

ACCOUNT = ResourceSpec(
    name="Account",
    path="Account",
    id_field="Id",
    paging="cursor",
    batch="batch_read",
    records_path="records",
    change_field="SystemModstamp",
    fields=ACCOUNT_FIELDS,
)
OPPORTUNITY = ResourceSpec(
    name="Opportunity",
    path="Opportunity",
    id_field="Id",
    paging="cursor",
    batch="batch_read",
    records_path="records",
    change_field="SystemModstamp",
    fields=OPPORTUNITY_FIELDS,
)

KEY_PREFIX: dict[str, str] = {ACCOUNT.name: "001", OPPORTUNITY.name: "006"}
"""Each sObject's id key prefix: an id without it cannot be one of its records (no request is made)."""
