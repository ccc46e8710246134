"""Settings: environment over TOML over defaults, and config errors that name the bad key."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from opsgraph.gateway.settings import ConfigError, Settings, demo_settings, load_settings
from opsgraph.model import SourceName

ALL_SOURCES = """
[salesforce]
base_url = "http://sf.example"
timeout_s = 3
credentials = { client_id = "cid", client_secret = "secret" }

[harvest]
base_url = "http://harvest.example"
credentials = { access_token = "t", account_id = "1" }

[bamboohr]
base_url = "http://bamboo.example"
credentials = { api_key = "k", company_domain = "firm" }

[netsuite]
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


def test_defaults_without_sources_when_not_required() -> None:
    settings = load_settings(require_sources=False)
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert (settings.max_depth, settings.max_aliases, settings.max_tokens) == (12, 30, 5000)
    assert settings.cache.enabled and settings.cache.ttl_for("invoice") == 120
    assert settings.graphiql is True
    assert settings.today is None
    assert settings.salesforce is None


def test_toml_file_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, "max_depth = 9\ntoday = 2026-11-20\n" + ALL_SOURCES)
    settings = load_settings(path)
    assert settings.max_depth == 9
    assert settings.today == date(2026, 11, 20)
    assert settings.salesforce is not None
    assert settings.salesforce.base_url == "http://sf.example"
    assert settings.salesforce.timeout_s == 3.0
    assert settings.salesforce.credentials == {"client_id": "cid", "client_secret": "secret"}
    assert set(settings.source_configs()) == set(SourceName)


def test_environment_overrides_file_including_nested_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "port = 9000\nmax_depth = 9\n" + ALL_SOURCES)
    monkeypatch.setenv("OPSGRAPH_PORT", "9100")
    monkeypatch.setenv("OPSGRAPH_SALESFORCE__TIMEOUT_S", "7.5")
    monkeypatch.setenv("OPSGRAPH_LOG_LEVEL", "DEBUG")
    settings = load_settings(path)
    assert settings.port == 9100  # env wins
    assert settings.max_depth == 9  # file value kept where env is silent
    assert settings.log_level == "debug"
    assert settings.salesforce is not None
    assert settings.salesforce.timeout_s == 7.5  # nested env key merged over the file's table
    assert settings.salesforce.base_url == "http://sf.example"  # the rest of the table still from the file


def test_config_file_from_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSGRAPH_CONFIG_FILE", str(write(tmp_path, "max_aliases = 4\n" + ALL_SOURCES)))
    assert load_settings().max_aliases == 4


def test_explicit_overrides_beat_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSGRAPH_PORT", "9100")
    assert load_settings(require_sources=False, port=9200).port == 9200


def test_sources_from_environment_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    for source in SourceName:
        monkeypatch.setenv(f"OPSGRAPH_{source.value.upper()}__BASE_URL", f"http://{source.value}.local")
    monkeypatch.setenv("OPSGRAPH_HARVEST__CREDENTIALS", '{"account_id": "1", "access_token": "t"}')
    monkeypatch.setenv("OPSGRAPH_BAMBOOHR__CREDENTIALS", '{"api_key": "k", "company_domain": "f"}')
    monkeypatch.setenv("OPSGRAPH_NETSUITE__CREDENTIALS", '{"client_id": "c", "client_secret": "s"}')
    configs = load_settings().source_configs()
    assert configs[SourceName.NETSUITE].base_url == "http://netsuite.local"
    assert configs[SourceName.HARVEST].credentials == {"account_id": "1", "access_token": "t"}


def test_bad_value_names_the_dotted_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSGRAPH_SALESFORCE__TIMEOUT_S", "-1")
    monkeypatch.setenv("OPSGRAPH_PORT", "http")
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, ALL_SOURCES))
    problems = caught.value.problems
    assert "salesforce.timeout_s: Input should be greater than 0" in problems
    assert any(p.startswith("port: Input should be a valid integer") for p in problems)
    assert len(problems) == 2
    assert "salesforce.timeout_s: Input should be greater than 0" in str(caught.value)


def test_unknown_key_in_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, ALL_SOURCES + "timeout = 3\n"))
    assert caught.value.problems == ["netsuite.timeout: Extra inputs are not permitted"]


def test_partial_source_says_which_variable_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSGRAPH_HARVEST__TIMEOUT_S", "5")
    with pytest.raises(ConfigError) as caught:
        load_settings(require_sources=False)
    assert caught.value.problems == ["harvest.base_url: Field required (set OPSGRAPH_HARVEST__BASE_URL)"]


def test_missing_sources_name_each_role_and_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.problems == [
        "systems: no crm system; declare one under [systems.<name>] (vendor: hubspot | salesforce), "
        "or set OPSGRAPH_SALESFORCE__BASE_URL, or run `opsgraph serve --demo`",
        "systems: no psa system; declare one under [systems.<name>] (vendor: harvest), "
        "or set OPSGRAPH_HARVEST__BASE_URL, or run `opsgraph serve --demo`",
        "systems: no hr system; declare one under [systems.<name>] (vendor: bamboohr), "
        "or set OPSGRAPH_BAMBOOHR__BASE_URL, or run `opsgraph serve --demo`",
        "systems: no erp system; declare one under [systems.<name>] (vendor: netsuite), "
        "or set OPSGRAPH_NETSUITE__BASE_URL, or run `opsgraph serve --demo`",
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


def test_demo_settings_point_every_source_at_the_simulators(tmp_path: Path) -> None:
    urls = {source: f"http://127.0.0.1:{8101 + i}" for i, source in enumerate(SourceName)}
    creds = {
        SourceName.BAMBOOHR: {"api_key": "k"},
        SourceName.HARVEST: {"access_token": "t", "account_id": "1"},
        SourceName.NETSUITE: {"client_id": "c", "client_secret": "s"},
    }
    settings = demo_settings(urls, creds, write(tmp_path, "max_tokens = 900\n"), today=date(2026, 11, 20))
    assert isinstance(settings, Settings)
    configs = settings.source_configs()
    assert configs[SourceName.SALESFORCE].base_url == "http://127.0.0.1:8101"  # the login host
    assert configs[SourceName.HARVEST].base_url == "http://127.0.0.1:8102"  # paths are /v2/...
    assert configs[SourceName.BAMBOOHR].base_url == "http://127.0.0.1:8103/api/gateway.php/opsgraphfirm/v1"
    assert configs[SourceName.NETSUITE].base_url == "http://127.0.0.1:8104/services/rest"
    assert configs[SourceName.BAMBOOHR].credentials == {"api_key": "k"}
    assert configs[SourceName.SALESFORCE].credentials == {}
    assert settings.max_tokens == 900
    assert settings.today == date(2026, 11, 20)
