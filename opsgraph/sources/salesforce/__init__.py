"""The Salesforce kit: REST client, record mapping and a wire-faithful simulator (`simulator.SIMULATOR`)."""

from opsgraph.sources.salesforce.client import SalesforceClient

__all__ = ["SalesforceClient"]
