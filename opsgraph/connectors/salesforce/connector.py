"""The Salesforce connector's registration (entry point `opsgraph.connectors: salesforce`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from opsgraph.connectors.registry import Connector, ConnectorSettings
from opsgraph.connectors.salesforce.client import SalesforceClient
from opsgraph.model import Role


class SalesforceCredentials(BaseModel):
    """OAuth client credentials of a connected app (the simulator accepts any)."""

    model_config = ConfigDict(extra="allow")
    client_id: str = ""
    client_secret: str = ""


class SalesforceSettings(ConnectorSettings):
    credentials: SalesforceCredentials = SalesforceCredentials()


CONNECTOR = Connector(
    vendor="salesforce", role=Role.CRM, client=SalesforceClient, settings=SalesforceSettings
)
