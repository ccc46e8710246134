"""The HubSpot CRM connector's registration (entry point `opsgraph.connectors: hubspot`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from opsgraph.connectors.hubspot.client import HubSpotClient
from opsgraph.connectors.hubspot.webhooks import HubSpotWebhooks
from opsgraph.connectors.registry import Connector, ConnectorSettings
from opsgraph.model import Role


class HubSpotCredentials(BaseModel):
    """A private app's access token (bearer)."""

    model_config = ConfigDict(extra="allow")
    access_token: str = Field(min_length=1)


class HubSpotSettings(ConnectorSettings):
    credentials: HubSpotCredentials


CONNECTOR = Connector(
    vendor="hubspot",
    role=Role.CRM,
    client=HubSpotClient,
    settings=HubSpotSettings,
    webhooks=HubSpotWebhooks(),
)
