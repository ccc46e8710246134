"""`[auth]` settings: closed by default, checked at start with the bad key named, API key hashes."""

from __future__ import annotations

import hashlib
import json

import pytest
from click.testing import CliRunner

from opsgraph.auth import hash_api_key, new_api_key
from opsgraph.cli import cli
from opsgraph.gateway.settings import ConfigError, load_settings

OIDC = '{"issuer": "https://idp.test", "audience": "opsgraph", "jwks_url": "https://idp.test/jwks"}'


def test_the_production_default_is_closed() -> None:
    auth = load_settings(require_sources=False).auth
    assert (auth.oidc, auth.api_keys, auth.anonymous_role) == (None, {}, None)
    assert auth.closed
    assert auth.open_paths == ["/healthz", "/readyz", "/metrics"]


def test_an_issuer_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSGRAPH_AUTH__OIDC", OIDC)
    oidc = load_settings(require_sources=False).auth.oidc
    assert oidc is not None
    assert (oidc.issuer, oidc.algorithms, oidc.leeway_s, oidc.roles_claim) == (
        "https://idp.test",
        ["RS256", "ES256"],
        30.0,
        "roles",
    )


@pytest.mark.parametrize("algorithms", ['["none"]', '["RS256", "HS256"]', "[]"])
def test_none_and_hmac_algorithms_are_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, algorithms: str
) -> None:
    monkeypatch.setenv("OPSGRAPH_AUTH__OIDC", OIDC[:-1] + f', "algorithms": {algorithms}}}')
    with pytest.raises(ConfigError) as error:
        load_settings(require_sources=False)
    assert error.value.problems[0].startswith("auth.oidc.algorithms")


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ('{"bi": {"hash": "og_plaintext", "roles": ["viewer"]}}', "auth.api_keys.bi.hash"),
        ('{"bi": {"hash": "sha256:' + "0" * 64 + '", "roles": []}}', "auth.api_keys.bi.roles"),
        ('{"bi": {"hash": "sha256:' + "0" * 64 + '", "roles": ["root"]}}', "auth.api_keys.bi.roles.0"),
    ],
)
def test_bad_api_keys_are_refused_at_start(monkeypatch: pytest.MonkeyPatch, key: str, problem: str) -> None:
    monkeypatch.setenv("OPSGRAPH_AUTH__API_KEYS", key)
    with pytest.raises(ConfigError) as error:
        load_settings(require_sources=False)
    assert error.value.problems[0].split(":")[0] == problem


def test_two_keys_with_one_hash_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    digest = hash_api_key("og_same")
    keys = {"a": {"hash": digest, "roles": ["viewer"]}, "b": {"hash": digest, "roles": ["admin"]}}
    monkeypatch.setenv("OPSGRAPH_AUTH__API_KEYS", json.dumps(keys))
    with pytest.raises(ConfigError, match=r"api_keys\.b: the same hash as api_keys\.a"):
        load_settings(require_sources=False)


def test_the_api_key_command_makes_a_key_and_its_hash() -> None:
    made = CliRunner().invoke(cli, ["api-key"])
    lines = dict(
        line.split(":  ", 1) if ":  " in line else line.split(": ", 1) for line in made.output.splitlines()
    )
    assert lines["key"].startswith("og_") and len(lines["key"]) == 46
    assert lines["hash"] == "sha256:" + hashlib.sha256(lines["key"].encode()).hexdigest()
    hashed = CliRunner().invoke(cli, ["api-key", "--hash-only"], input="og_given\n")
    assert hashed.output.strip() == hash_api_key("og_given")
    assert new_api_key() != new_api_key()


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://idp.test/jwks", True),
        ("http://127.0.0.1:8080/jwks", True),
        ("http://localhost/jwks", True),
        ("http://idp.test/jwks", False),
        ("ftp://idp.test/jwks", False),
    ],
)
def test_the_jwks_url_is_https_except_on_loopback(
    monkeypatch: pytest.MonkeyPatch, url: str, ok: bool
) -> None:
    monkeypatch.setenv("OPSGRAPH_AUTH__OIDC", OIDC.replace("https://idp.test/jwks", url))
    if ok:
        assert str(load_settings(require_sources=False).auth.oidc.jwks_url) == url  # type: ignore[union-attr]
        return
    with pytest.raises(ConfigError) as error:
        load_settings(require_sources=False)
    assert error.value.problems[0].startswith("auth.oidc.jwks_url")
