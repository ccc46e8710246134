"""The firm's systems in settings, checked at start, and built through the connector registry."""

from __future__ import annotations

import os
import sys
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import httpx
import pytest
from metrics_support import sample
from test_gateway_support import serving, settings_for

from opsgraph.connectors.bamboohr.client import BambooHRClient
from opsgraph.connectors.harvest.client import HarvestClient
from opsgraph.connectors.netsuite.client import NetSuiteClient
from opsgraph.connectors.registry import ENTRY_POINT_GROUP, load_registry
from opsgraph.connectors.salesforce.client import SalesforceClient
from opsgraph.gateway.app import create_app
from opsgraph.gateway.settings import ConfigError, load_settings
from opsgraph.model import Role
from opsgraph.resolvers.sources import Sources
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

CRM = """
[systems.crm]
vendor = "salesforce"
base_url = "http://sf.example"
"""
PSA = """
[systems.psa]
vendor = "harvest"
base_url = "http://harvest.example"
credentials = { access_token = "t", account_id = "1" }
"""
HR_ERP = """
[systems.hr]
vendor = "bamboohr"
base_url = "http://bamboo.example/api/gateway.php/firm/v1"
credentials = { api_key = "k" }

[systems.erp]
vendor = "netsuite"
role = "ERP"
base_url = "http://netsuite.example"
credentials = { client_id = "c", client_secret = "s" }
timeout_s = 4
"""
STACK = CRM + PSA + HR_ERP


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OPSGRAPH_"):
            monkeypatch.delenv(name)


async def harvest_requests(simulators: SimulatorGroup) -> int:
    async with httpx.AsyncClient() as admin:
        stats = await admin.get(f"{simulators.urls()['harvest']}/_sim/stats")
        return int(stats.json()["total"])


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "opsgraph.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return caught.value.problems


def settings_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "opsgraph.toml"
    path.write_text(text)
    return path


def test_a_classic_stack_from_settings_builds_four_systems(tmp_path: Path) -> None:
    specs = load_settings(settings_file(tmp_path, STACK)).system_specs()
    sources = Sources.from_specs(specs)
    assert {name: (s.role, s.vendor) for name, s in sources.systems.items()} == {
        "crm": (Role.CRM, "salesforce"),
        "psa": (Role.PSA, "harvest"),
        "hr": (Role.HR, "bamboohr"),
        "erp": (Role.ERP, "netsuite"),
    }
    (crm,), (psa,), (hr,), (erp,) = sources.crm, sources.psa, sources.hr, sources.erp
    assert isinstance(crm, SalesforceClient) and crm is sources.system("crm").client
    assert isinstance(psa, HarvestClient) and psa.system == "psa"
    assert isinstance(hr, BambooHRClient)
    assert isinstance(erp, NetSuiteClient) and erp.config.timeout_s == 4
    assert sources.ref("psa", "7") == sources.system("psa").ref("7")
    assert (sources.ref("psa", "7").role, sources.ref("psa", "7").vendor) == (Role.PSA, "harvest")
    assert {role: sources.owner(role).name for role in Role} == {  # type: ignore[union-attr]
        Role.CRM: "crm",
        Role.PSA: "psa",
        Role.HR: "hr",
        Role.ERP: "erp",
    }


def test_a_role_missing_names_the_role(tmp_path: Path) -> None:
    assert problems(tmp_path, PSA + HR_ERP) == [
        "systems: no crm system; declare one under [systems.<name>] (vendor: hubspot | salesforce), "
        "or run `opsgraph serve --demo`"
    ]


def test_an_unknown_vendor_names_it_and_the_known_ones(tmp_path: Path) -> None:
    text = STACK.replace('vendor = "harvest"', 'vendor = "mavenlink"')
    assert problems(tmp_path, text) == [
        "systems.psa.vendor: unknown vendor 'mavenlink'; "
        "known vendors: bamboohr, harvest, hubspot, intacct, kantata, netsuite, salesforce, workday"
    ]


def test_a_vendors_own_settings_model_checks_its_credentials(tmp_path: Path) -> None:
    text = STACK.replace('{ access_token = "t", account_id = "1" }', '{ access_token = "t" }')
    assert problems(tmp_path, text) == [
        "systems.psa.credentials.account_id: Field required (harvest connector)"
    ]


def test_a_role_the_vendor_does_not_serve(tmp_path: Path) -> None:
    text = STACK.replace('role = "ERP"', 'role = "hr"')
    assert problems(tmp_path, text) == ["systems.erp.role: vendor 'netsuite' is a erp connector, not hr"]


def two_psa(na: str, emea: str) -> str:
    return (
        CRM
        + HR_ERP
        + "".join(
            f'\n[systems.psa-{name}]\nvendor = "harvest"\nbase_url = "http://h.example"\n'
            f'credentials = {{ access_token = "t", account_id = "1" }}\n{scope}\n'
            for name, scope in (("na", na), ("emea", emea))
        )
    )


def test_overlapping_scopes_name_the_key_and_the_owner(tmp_path: Path) -> None:
    text = two_psa('scope = ["us", "ca", "uk"]', 'scope = ["uk", "de"]')
    assert problems(tmp_path, text) == [
        "systems.psa-emea.scope: uk already owned by systems.psa-na (role psa)"
    ]


def test_at_most_one_unscoped_system_per_role(tmp_path: Path) -> None:
    assert problems(tmp_path, two_psa("", "")) == [
        "systems.psa-emea.scope: missing; systems.psa-na is already the unscoped psa system "
        "(at most one per role: it owns what the scoped ones do not)"
    ]
    specs = load_settings(settings_file(tmp_path, two_psa("", 'scope = ["uk"]'))).system_specs()
    assert {s.name: s.scope for s in specs if s.role is Role.PSA} == {
        "psa-na": None,
        "psa-emea": frozenset({"uk"}),
    }


def test_systems_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSGRAPH_SYSTEMS__PSA__VENDOR", "harvest")
    monkeypatch.setenv("OPSGRAPH_SYSTEMS__PSA__BASE_URL", "http://env.example")
    monkeypatch.setenv("OPSGRAPH_SYSTEMS__PSA__CREDENTIALS", '{"access_token": "t", "account_id": "9"}')
    specs = load_settings(settings_file(tmp_path, CRM + HR_ERP)).system_specs()
    psa = next(s for s in specs if s.role is Role.PSA)
    assert (psa.name, psa.vendor, psa.config.base_url) == ("psa", "harvest", "http://env.example")


def test_the_single_vendor_tables_are_gone(tmp_path: Path) -> None:
    """Settings declare `[systems.<name>]` tables only: a `[harvest]` table is not a system."""
    text = STACK + '\n[harvest]\nbase_url = "http://x"\n'
    assert problems(tmp_path, text) == ["harvest: Extra inputs are not permitted"]


def test_the_built_in_connectors_are_installed_entry_points() -> None:
    names = {point.name for point in entry_points(group=ENTRY_POINT_GROUP)}
    assert names >= {"salesforce", "harvest", "bamboohr", "netsuite", "hubspot"}


ACME = """
from opsgraph.connectors.harvest.client import HarvestClient
from opsgraph.connectors.registry import Connector, ConnectorSettings
from opsgraph.model import Role


class AcmeSettings(ConnectorSettings):
    credentials: dict[str, str]


class AcmeClient(HarvestClient):
    pass


CONNECTOR = Connector(vendor="acme", role=Role.PSA, client=AcmeClient, settings=AcmeSettings)
"""


def test_a_private_connector_registered_through_an_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "acme_connector.py").write_text(ACME)
    monkeypatch.syspath_prepend(str(tmp_path))
    point = EntryPoint(name="acme", value="acme_connector:CONNECTOR", group=ENTRY_POINT_GROUP)
    registry = load_registry([point])
    assert "acme" in registry.vendors() and "harvest" in registry.vendors()  # built-ins kept
    text = STACK.replace('vendor = "harvest"', 'vendor = "acme"')
    with pytest.raises(ConfigError):  # not in the default registry
        load_settings(settings_file(tmp_path, text))
    settings = load_settings(settings_file(tmp_path, text), registry=registry)
    sources = Sources.from_specs(settings.system_specs(registry), registry=registry)
    assert type(sources.systems["psa"].client).__name__ == "AcmeClient"
    assert sources.systems["psa"].connector.vendor == "acme"
    del sys.modules["acme_connector"]


async def test_the_sources_query_lists_every_system(simulators: SimulatorGroup, world: World) -> None:
    """Two PSA systems (one per region) are two entries in `sources`, each probed once."""
    settings = settings_for(simulators, world)
    harvest = settings.systems["harvest"]
    systems = {name: s for name, s in settings.systems.items() if name != "harvest"}
    systems["psa-na"] = harvest.model_copy(update={"scope": ["na"]})
    systems["psa-emea"] = harvest.model_copy(update={"scope": ["emea"]})
    settings = settings.model_copy(update={"systems": systems})
    async with serving(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as http:
        before = await harvest_requests(simulators)
        query = "{ sources { system role vendor reachable } }"
        body = (await http.post("/graphql", json={"query": query})).json()
        after = await harvest_requests(simulators)
        metrics = (await http.get("/metrics")).text
    assert "errors" not in body, body
    assert sorted((s["system"], s["role"], s["vendor"]) for s in body["data"]["sources"]) == [
        ("bamboohr", "HR", "bamboohr"),
        ("netsuite", "ERP", "netsuite"),
        ("psa-emea", "PSA", "harvest"),
        ("psa-na", "PSA", "harvest"),
        ("salesforce", "CRM", "salesforce"),
    ]
    assert all(s["reachable"] for s in body["data"]["sources"])
    assert after - before == 2
    for name in ("psa-na", "psa-emea"):  # one series per system
        assert (
            sample(metrics, "opsgraph_upstream_requests_total", system=name, role="psa", vendor="harvest")
            == 1
        )


def test_bamboohr_on_a_bare_host_needs_the_company_domain(tmp_path: Path) -> None:
    text = STACK.replace("http://bamboo.example/api/gateway.php/firm/v1", "http://bamboo.example")
    assert problems(tmp_path, text) == [
        "systems.hr: Value error, credentials.company_domain is required when base_url is the bare host "
        "(bamboohr connector)"
    ]
