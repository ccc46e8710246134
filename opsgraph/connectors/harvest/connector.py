"""The Harvest connector's registration (entry point `opsgraph.connectors: harvest`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from opsgraph.connectors.harvest.client import HarvestClient
from opsgraph.connectors.registry import Connector, ConnectorSettings


class HarvestCredentials(BaseModel):
    """A personal access token and the account it acts in."""

    model_config = ConfigDict(extra="allow")
    access_token: str = Field(min_length=1)
    account_id: str = Field(min_length=1)
    user_agent: str | None = None


class HarvestSettings(ConnectorSettings):
    credentials: HarvestCredentials


CONNECTOR = Connector(
    vendor=HarvestClient.vendor, role=HarvestClient.role, client=HarvestClient, settings=HarvestSettings
)
