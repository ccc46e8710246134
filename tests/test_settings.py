"""Settings: environment over TOML over defaults, and config errors that name the bad key.

The firm's systems are `[systems.<name>]` tables only (the role checks themselves are in
`test_systems.py`); these tests are about how settings are read and merged.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from starlette.applications import Starlette

from opsgraph.gateway.demo import gateway_server
from opsgraph.gateway.settings import ConfigError, Settings, demo_settings, load_settings
from opsgraph.model import Role

ALL_SYSTEMS = """
[systems.crm]
vendor = "salesforce"
base_url = "http://sf.example"
timeout_s = 3
credentials = { client_id = "cid", client_secret = "secret" }

[systems.psa]
vendor = "harvest"
base_url = "http://harvest.example"
credentials = { access_token = "t", account_id = "1" }

[systems.hr]
vendor = "bamboohr"
base_url = "http://bamboo.example"
credentials = { api_key = "k", company_domain = "firm" }

[systems.erp]
vendor = "netsuite"
base_url = "http://netsuite.example"
credentials = { client_id = "cid", client_secret = "secret" }
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OPSGRAPH_* variable from the developer's shell leaks into these tests."""
    for name in list(os.environ):
        if name.startswith("OPSGRAPH_"):
            monkeypatch.delenv(name)


def write(tmp_path: Path, text: str, name: str = "opsgraph.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_without_systems_when_not_required() -> None:
    settings = load_settings(require_sources=False)
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert (settings.max_depth, settings.max_aliases, settings.max_tokens) == (12, 30, 5000)
    assert settings.cache.enabled and settings.cache.ttl_for("invoice") == 120
    assert (settings.graphiql, settings.introspection, settings.cors_origins) == (False, False, [])
    assert settings.today is None
    assert settings.systems == {}


def test_toml_file_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, "max_depth = 9\ntoday = 2026-11-20\n" + ALL_SYSTEMS)
    settings = load_settings(path)
    assert settings.max_depth == 9
    assert settings.today == date(2026, 11, 20)
    crm = settings.system_config("crm")
    assert crm.base_url == "http://sf.example"
    assert crm.timeout_s == 3.0
    assert crm.credentials == {"client_id": "cid", "client_secret": "secret"}
    specs = settings.system_specs()
    assert [(s.name, s.role, s.vendor) for s in specs] == [
        ("crm", Role.CRM, "salesforce"),
        ("psa", Role.PSA, "harvest"),
        ("hr", Role.HR, "bamboohr"),
        ("erp", Role.ERP, "netsuite"),
    ]


def test_environment_overrides_file_including_nested_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "port = 9000\nmax_depth = 9\n" + ALL_SYSTEMS)
    monkeypatch.setenv("OPSGRAPH_PORT", "9100")
    monkeypatch.setenv("OPSGRAPH_SYSTEMS__CRM__TIMEOUT_S", "7.5")
    monkeypatch.setenv("OPSGRAPH_LOG_LEVEL", "DEBUG")
    settings = load_settings(path)
    assert settings.port == 9100  # env wins
    assert settings.max_depth == 9  # file value kept where env is silent
    assert settings.log_level == "debug"
    crm = settings.system_config("crm")
    assert crm.timeout_s == 7.5  # nested env key merged over the file's table
    assert crm.base_url == "http://sf.example"  # the rest of the table still from the file


def test_config_file_from_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSGRAPH_CONFIG_FILE", str(write(tmp_path, "max_aliases = 4\n" + ALL_SYSTEMS)))
    assert load_settings().max_aliases == 4


def test_explicit_overrides_beat_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSGRAPH_PORT", "9100")
    assert load_settings(require_sources=False, port=9200).port == 9200


def test_systems_from_environment_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    vendors = {"crm": "salesforce", "psa": "harvest", "hr": "bamboohr", "erp": "netsuite"}
    for name, vendor in vendors.items():
        monkeypatch.setenv(f"OPSGRAPH_SYSTEMS__{name.upper()}__VENDOR", vendor)
        monkeypatch.setenv(f"OPSGRAPH_SYSTEMS__{name.upper()}__BASE_URL", f"http://{name}.local")
    monkeypatch.setenv("OPSGRAPH_SYSTEMS__PSA__CREDENTIALS", '{"account_id": "1", "access_token": "t"}')
    monkeypatch.setenv("OPSGRAPH_SYSTEMS__HR__CREDENTIALS", '{"api_key": "k", "company_domain": "f"}')
    monkeypatch.setenv("OPSGRAPH_SYSTEMS__ERP__CREDENTIALS", '{"client_id": "c", "client_secret": "s"}')
    settings = load_settings()
    assert settings.system_config("erp").base_url == "http://erp.local"
    assert settings.system_config("psa").credentials == {"account_id": "1", "access_token": "t"}
    assert {s.name: s.vendor for s in settings.system_specs()} == vendors


def test_bad_value_names_the_dotted_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSGRAPH_SYSTEMS__CRM__TIMEOUT_S", "-1")
    monkeypatch.setenv("OPSGRAPH_PORT", "http")
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, ALL_SYSTEMS))
    problems = caught.value.problems
    assert "systems.crm.timeout_s: Input should be greater than 0" in problems
    assert any(p.startswith("port: Input should be a valid integer") for p in problems)
    assert len(problems) == 2
    assert "systems.crm.timeout_s: Input should be greater than 0" in str(caught.value)


def test_unknown_key_in_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, ALL_SYSTEMS + "timeout = 3\n"))
    assert caught.value.problems == ["systems.erp.timeout: Extra inputs are not permitted"]


def test_a_vendor_named_table_is_not_a_system(tmp_path: Path) -> None:
    """The single-vendor tables (`[salesforce]`) are gone: only `[systems.<name>]` declares a system."""
    with pytest.raises(ConfigError) as caught:
        load_settings(
            write(tmp_path, '[salesforce]\nbase_url = "http://sf.example"\n'), require_sources=False
        )
    assert caught.value.problems == ["salesforce: Extra inputs are not permitted"]


def test_partial_system_says_which_variable_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSGRAPH_SYSTEMS__PSA__VENDOR", "harvest")
    with pytest.raises(ConfigError) as caught:
        load_settings(require_sources=False)
    assert caught.value.problems == [
        "systems.psa.base_url: Field required (set OPSGRAPH_SYSTEMS__PSA__BASE_URL)"
    ]


def test_missing_systems_name_each_role() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.problems == [
        "systems: no crm system; declare one under [systems.<name>] (vendor: hubspot | salesforce), "
        "or run `opsgraph serve --demo`",
        "systems: no psa system; declare one under [systems.<name>] (vendor: harvest | kantata), "
        "or run `opsgraph serve --demo`",
        "systems: no hr system; declare one under [systems.<name>] (vendor: bamboohr | workday), "
        "or run `opsgraph serve --demo`",
        "systems: no erp system; declare one under [systems.<name>] (vendor: intacct | netsuite), "
        "or run `opsgraph serve --demo`",
    ]


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "nope.toml", require_sources=False)
    assert caught.value.problems == [f"config file not found: {tmp_path / 'nope.toml'}"]


def test_invalid_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "max_depth = = 3\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, require_sources=False)
    assert caught.value.problems[0].startswith(f"config file {path}: invalid TOML")


def test_demo_settings_take_the_systems_tables_as_given(tmp_path: Path) -> None:
    systems = {
        "salesforce": {"vendor": "salesforce", "base_url": "http://127.0.0.1:8101", "credentials": {}},
        "harvest": {
            "vendor": "harvest",
            "base_url": "http://127.0.0.1:8102",
            "credentials": {"access_token": "t", "account_id": "1"},
        },
        "bamboohr": {
            "vendor": "bamboohr",
            "base_url": "http://127.0.0.1:8103/api/gateway.php/opsgraphfirm/v1",
            "credentials": {"api_key": "k"},
        },
        "netsuite": {
            "vendor": "netsuite",
            "base_url": "http://127.0.0.1:8104/services/rest",
            "credentials": {"client_id": "c", "client_secret": "s"},
        },
    }
    settings = demo_settings(systems, write(tmp_path, "max_tokens = 900\n"), today=date(2026, 11, 20))
    assert isinstance(settings, Settings)
    for name, table in systems.items():
        config = settings.system_config(name)
        assert (config.base_url, config.credentials) == (table["base_url"], table["credentials"])
    assert [(s.name, s.role) for s in settings.system_specs()] == [
        ("salesforce", Role.CRM),
        ("harvest", Role.PSA),
        ("bamboohr", Role.HR),
        ("netsuite", Role.ERP),
    ]
    assert settings.max_tokens == 900
    assert settings.today == date(2026, 11, 20)


def test_with_system_changes_one_system_only(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ALL_SYSTEMS))
    changed = settings.with_system("erp", max_retries=0, breaker_reset_s=0.5)
    assert (changed.system_config("erp").max_retries, changed.system_config("erp").breaker_reset_s) == (
        0,
        0.5,
    )
    assert changed.system_config("crm") == settings.system_config("crm")
    assert settings.system_config("erp").max_retries == 2  # the original is untouched
    with pytest.raises(KeyError):
        settings.system_config("nosuch")


def test_the_server_keeps_idle_connections_past_a_load_balancers_idle_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """uvicorn closes an idle connection after 5 s: behind a load balancer that keeps its side open for
    60 s, a request sent as the gateway closes meets a reset. `opsgraph serve` keeps them 75 s."""
    assert gateway_server(Starlette(), Settings()).config.timeout_keep_alive == 75
    monkeypatch.setenv("OPSGRAPH_KEEP_ALIVE_S", "120")
    assert gateway_server(Starlette(), Settings()).config.timeout_keep_alive == 120
    monkeypatch.setenv("OPSGRAPH_KEEP_ALIVE_S", "0")
    with pytest.raises(ValueError, match="keep_alive_s"):
        Settings()
