"""The HubSpot CRM kit: client, declared resources, mapping, webhook signatures and a simulator."""

from opsgraph.sources.hubspot.client import HubSpotClient

__all__ = ["HubSpotClient"]
