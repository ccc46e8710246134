"""The NetSuite connector's registration (entry point `opsgraph.connectors: netsuite`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from opsgraph.connectors.netsuite.client import NetSuiteClient
from opsgraph.connectors.registry import Connector, ConnectorSettings
from opsgraph.model import Role


class NetSuiteCredentials(BaseModel):
    """OAuth 2.0 client credentials (M2M); the certificate keys the client reads when present."""

    model_config = ConfigDict(extra="allow")
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1)


class NetSuiteSettings(ConnectorSettings):
    credentials: NetSuiteCredentials


CONNECTOR = Connector(vendor="netsuite", role=Role.ERP, client=NetSuiteClient, settings=NetSuiteSettings)
