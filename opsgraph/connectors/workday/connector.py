"""The Workday connector's registration (entry point `opsgraph.connectors: workday`)."""

from __future__ import annotations

from opsgraph.connectors.registry import Connector
from opsgraph.connectors.workday.client import WorkdayClient
from opsgraph.connectors.workday.settings import WorkdaySettings
from opsgraph.model import Role

CONNECTOR = Connector(vendor="workday", role=Role.HR, client=WorkdayClient, settings=WorkdaySettings)
