"""The Sage Intacct connector's registration (entry point `opsgraph.connectors: intacct`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from opsgraph.connectors.intacct.client import IntacctClient
from opsgraph.connectors.registry import Connector, ConnectorSettings
from opsgraph.model import Role


class IntacctCredentials(BaseModel):
    """Web Services sender credentials (authorized for the company) and the API user's login."""

    model_config = ConfigDict(extra="forbid")
    sender_id: str = Field(min_length=1)
    sender_password: str = Field(min_length=1)
    user_id: str = Field(min_length=1)
    company_id: str = Field(min_length=1)
    user_password: str = Field(min_length=1)


class IntacctSettings(ConnectorSettings):
    credentials: IntacctCredentials


CONNECTOR = Connector(vendor="intacct", role=Role.ERP, client=IntacctClient, settings=IntacctSettings)
