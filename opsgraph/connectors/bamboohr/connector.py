"""The BambooHR connector's registration (entry point `opsgraph.connectors: bamboohr`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from opsgraph.connectors.bamboohr.client import BambooHRClient
from opsgraph.connectors.bamboohr.webhooks import BambooHRWebhooks
from opsgraph.connectors.registry import Connector, ConnectorSettings
from opsgraph.model import Role


class BambooHRCredentials(BaseModel):
    """An API key; `company_domain` when `base_url` is the bare host."""

    model_config = ConfigDict(extra="allow")
    api_key: str = Field(min_length=1)
    company_domain: str | None = None


class BambooHRSettings(ConnectorSettings):
    base_url: str
    credentials: BambooHRCredentials

    @model_validator(mode="after")
    def _company_domain_for_a_bare_host(self) -> BambooHRSettings:
        if "/api/gateway.php/" not in self.base_url and not self.credentials.company_domain:
            raise ValueError("credentials.company_domain is required when base_url is the bare host")
        return self


CONNECTOR = Connector(
    vendor="bamboohr",
    role=Role.HR,
    client=BambooHRClient,
    settings=BambooHRSettings,
    webhooks=BambooHRWebhooks(),
)
