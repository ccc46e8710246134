"""The Kantata connector's registration (entry point `opsgraph.connectors: kantata`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from opsgraph.connectors.kantata.client import KantataClient
from opsgraph.connectors.registry import Connector, ConnectorSettings


class KantataCredentials(BaseModel):
    """An OAuth bearer token of the integration user (`Authorization: Bearer <token>`)."""

    model_config = ConfigDict(extra="allow")
    access_token: str = Field(min_length=1)


class KantataSettings(ConnectorSettings):
    credentials: KantataCredentials


CONNECTOR = Connector(
    vendor=KantataClient.vendor, role=KantataClient.role, client=KantataClient, settings=KantataSettings
)
