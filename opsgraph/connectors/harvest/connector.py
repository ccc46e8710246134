"""The Harvest connector's registration (entry point `opsgraph.connectors: harvest`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from opsgraph.connectors.harvest.client import HarvestClient
from opsgraph.connectors.registry import Connector, ConnectorSettings
from opsgraph.model import Role


class HarvestCredentials(BaseModel):
    """A personal access token and the account it acts in."""

    model_config = ConfigDict(extra="allow")
    access_token: str = Field(min_length=1)
    account_id: str = Field(min_length=1)
    user_agent: str | None = None


class HarvestSettings(ConnectorSettings):
    credentials: HarvestCredentials


async def ping(client: HarvestClient) -> None:
    await client.request("GET", "/v2/tasks", params={"per_page": "1"})


CONNECTOR = Connector(
    vendor="harvest", role=Role.PSA, client=HarvestClient, settings=HarvestSettings, ping=ping
)
