"""The `opsgraph` command: export-schema, config errors (exit 2, no traceback), simulate and serve --demo,
on either stack."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from click.testing import CliRunner

from opsgraph.cli import STACKS, cli
from simulators.simkit.serve import bind
from simulators.simkit.stacks import STACKS as SIMULATOR_STACKS
from simulators.world import World

OPSGRAPH = [sys.executable, "-c", "from opsgraph.cli import main; main()"]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name in list(os.environ):
        if name.startswith("OPSGRAPH_"):
            monkeypatch.delenv(name)
    return {k: v for k, v in os.environ.items() if not k.startswith("OPSGRAPH_")}


def free_port() -> int:
    sock = bind("127.0.0.1", 0)
    port: int = sock.getsockname()[1]
    sock.close()
    return port


def test_export_schema_prints_sdl() -> None:
    result = CliRunner().invoke(cli, ["export-schema"])
    assert result.exit_code == 0, result.output
    sdl = result.stdout
    assert "type Query {" in sdl
    assert re.search(r"^\s+clients\(first: Int", sdl, re.MULTILINE)
    assert "interface Node {" in sdl
    assert sdl.endswith("}\n")


def test_serve_with_a_bad_value_exits_2(tmp_path: Path, clean_env: dict[str, str]) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[systems.crm]\nvendor = "salesforce"\nbase_url = "http://sf"\ntimeout_s = -1\n')
    result = CliRunner().invoke(cli, ["serve", "--config", str(config)])
    assert result.exit_code == 2
    assert "config error: systems.crm.timeout_s: Input should be greater than 0" in result.stderr
    assert "Traceback" not in result.output


def test_serve_without_sources_names_the_variables(clean_env: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("config error: systems: no crm system; declare one under [systems.<name>]")
    assert result.stdout == ""


def test_installed_entry_point_reports_config_errors(clean_env: dict[str, str]) -> None:
    env = {**clean_env, "OPSGRAPH_PORT": "not-a-port"}
    proc = subprocess.run([*OPSGRAPH, "serve", "--demo"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("config error: port: Input should be a valid integer")
    assert "Traceback" not in proc.stderr


@pytest.fixture
def demo_process(
    clean_env: dict[str, str], request: pytest.FixtureRequest
) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """`serve --demo` on a free port, on the stack given as the fixture's param (default classic)."""
    port = free_port()
    stack = getattr(request, "param", "classic")
    proc = subprocess.Popen(
        [*OPSGRAPH, "serve", "--demo", "--stack", stack, "--port", str(port), "--sim-base-port", "0"],
        env=clean_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_until_up(url: str, proc: subprocess.Popen[str], deadline_s: float = 60) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not come up")


def test_serve_demo_end_to_end(demo_process: tuple[subprocess.Popen[str], int]) -> None:
    proc, port = demo_process
    base = f"http://127.0.0.1:{port}"
    wait_until_up(f"{base}/healthz", proc)
    ready = httpx.get(f"{base}/readyz", timeout=30)
    assert ready.status_code == 200, ready.text
    response = httpx.post(
        f"{base}/graphql", json={"query": "{ clients(first: 3) { nodes { name } } }"}, timeout=30
    )
    assert response.status_code == 200
    assert len(response.json()["data"]["clients"]["nodes"]) == 3
    page = httpx.get(f"{base}/graphql", headers={"Accept": "text/html"})
    assert "GraphiQL" in page.text
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert f"GraphiQL at http://127.0.0.1:{port}/graphql" in out
    assert "salesforce" in out and "netsuite" in out


CLIENT_LINKS = "{ clients(first: 5) { nodes { name links { system vendor id } } } }"


@pytest.mark.parametrize("demo_process", ["hubspot"], indirect=True)
def test_serve_demo_hubspot_stack_joins_the_erp_to_hubspot(
    demo_process: tuple[subprocess.Popen[str], int], world: World
) -> None:
    proc, port = demo_process
    base = f"http://127.0.0.1:{port}"
    wait_until_up(f"{base}/healthz", proc)
    response = httpx.post(f"{base}/graphql", json={"query": CLIENT_LINKS}, timeout=30)
    assert response.status_code == 200, response.text
    nodes = response.json()["data"]["clients"]["nodes"]
    by_hubspot_id = {c.hubspot_id: c for c in world.clients}
    assert len(nodes) == 5
    for node in nodes:
        links = {link["system"]: (link["vendor"], link["id"]) for link in node["links"]}
        client = by_hubspot_id[links["hubspot"][1]]
        assert node["name"] == client.name
        assert links == {
            "hubspot": ("hubspot", client.hubspot_id),
            "netsuite": ("netsuite", client.ns_customer_id),
        }
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert "hubspot stack:" in out
    assert [line.split()[0] for line in out.splitlines()[1:5]] == [
        "hubspot",
        "harvest",
        "bamboohr",
        "netsuite",
    ]


def test_simulate_serves_four_vendors_until_interrupted(clean_env: dict[str, str]) -> None:
    proc = subprocess.Popen(
        [*OPSGRAPH, "simulate", "--base-port", "0"],
        env={**clean_env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(6)]
        assert lines[0].startswith("simulators for the small world (seed 7")
        assert "Ctrl-C to stop" in lines[5]
        rows = [line.split() for line in lines[1:5]]
        assert [row[0] for row in rows] == ["salesforce", "harvest", "bamboohr", "netsuite"]
        assert rows[3][3] == "/services/rest" and "client_id=opsgraph-sim" in rows[3]
        for row in rows:
            faults = httpx.get(f"{row[1]}/_sim/faults", timeout=5)
            assert faults.status_code == 200
            assert faults.json()["outage"] is False
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_demo_uses_the_configured_redis(clean_env: dict[str, str], redis_server: str) -> None:
    url = redis_server.rsplit("/", 1)[0] + "/3"  # a database of its own on the session's server
    store = redis.Redis.from_url(url)
    store.flushdb()
    port = free_port()
    env = {**clean_env, "OPSGRAPH_REDIS_URL": url}
    command = [*OPSGRAPH, "serve", "--demo", "--port", str(port), "--sim-base-port", "0"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/healthz", proc)
        response = httpx.post(
            f"{base}/graphql", json={"query": "{ clients(first: 2) { totalCount } }"}, timeout=30
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"]["clients"]["totalCount"] > 0
        assert store.dbsize() > 0  # the read cache wrote there
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        store.flushdb()
        store.close()


def test_cli_stacks_are_the_simulators_stacks() -> None:
    assert tuple(SIMULATOR_STACKS) == STACKS
    help_text = CliRunner().invoke(cli, ["simulate", "--help"]).output
    assert "[classic|hubspot|global]" in help_text and "[default: classic]" in help_text


@pytest.mark.parametrize("command", [["simulate"], ["serve", "--demo"]])
def test_an_unknown_stack_is_a_usage_error(command: list[str], clean_env: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--stack", "pipedrive"])
    assert result.exit_code == 2
    wanted = "Invalid value for '--stack': 'pipedrive' is not one of 'classic', 'hubspot', 'global'."
    assert wanted in result.stderr


def test_simulate_hubspot_stack_serves_hubspot(clean_env: dict[str, str], world: World) -> None:
    proc = subprocess.Popen(
        [*OPSGRAPH, "simulate", "--stack", "hubspot", "--base-port", "0"],
        env={**clean_env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(6)]
        assert lines[0].rstrip().endswith("hubspot stack:")
        rows = [line.split() for line in lines[1:5]]
        assert [row[0] for row in rows] == ["hubspot", "harvest", "bamboohr", "netsuite"]
        hubspot = rows[0]
        assert hubspot[3] == "/crm/v3"
        token = hubspot[4].removeprefix("access_token=")
        response = httpx.get(
            f"{hubspot[1]}/crm/v3/objects/companies",
            params={"limit": "5", "properties": "name"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        companies = response.json()["results"]
        assert [c["id"] for c in companies] == [c.hubspot_id for c in world.clients[:5]]
        assert [c["properties"]["name"] for c in companies] == [c.name for c in world.clients[:5]]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
