"""The Salesforce connector: REST client and record mapping (its simulator: `simulators.salesforce`)."""

from opsgraph.connectors.salesforce.client import SalesforceClient

__all__ = ["SalesforceClient"]
