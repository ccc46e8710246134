"""The HubSpot CRM connector: client, declared resources, mapping and webhook signatures."""

from opsgraph.connectors.hubspot.client import HubSpotClient

__all__ = ["HubSpotClient"]
