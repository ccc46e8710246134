"""The authorization policy at the gateway: a role matrix over every protected field and every
mutation (data and errors asserted), the audit lines, and a bad policy refused at start."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_gateway_support import running_gateway, settings_for

from opsgraph.auth import ROLES, Role
from opsgraph.auth.demo import DEMO_API_KEYS
from opsgraph.auth.policy import load_policy
from opsgraph.gateway.app import create_app
from opsgraph.gateway.settings import ConfigError
from opsgraph.schema import build_schema
from opsgraph.telemetry.logs import JsonLogFormatter
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

PEOPLE = """query People {
  resources(first: 5) {
    nodes { name email costRate { amount } timeOff(from: "2026-01-01", to: "2026-12-31") { days } }
  }
  timeEntries(filter: {from: "2026-11-01", to: "2026-11-20"}, first: 5) {
    nodes { hours costRate { amount } }
  }
}"""

FINANCE_FIELDS = {"Resource.costRate", "TimeEntry.costRate"}
HR_FIELDS = {"Resource.email", "Resource.timeOff"}
SEES = {
    Role.VIEWER: set(),
    Role.DELIVERY: set(),
    Role.FINANCE: FINANCE_FIELDS | HR_FIELDS,
    Role.EXECUTIVE: FINANCE_FIELDS | HR_FIELDS,
    Role.ADMIN: HR_FIELDS,
}

# Who may call each mutation (the rules): every mutation of the schema must be listed.
EVERYONE = set(ROLES)
MAY_CALL: dict[str, set[Role]] = {
    "postApprovedTime": {Role.FINANCE},
    "prepareInvoice": {Role.FINANCE},
    "convertOpportunity": {Role.DELIVERY, Role.ADMIN},
    "applyChangeRequest": {Role.DELIVERY, Role.ADMIN},
    "replayWorkflow": {Role.FINANCE, Role.ADMIN},
    "resolveWorkflow": {Role.FINANCE, Role.ADMIN},
    "submitTimeEntries": EVERYONE,  # any authenticated caller, never the anonymous one
}
SCHEMA = build_schema()._schema
MUTATIONS = sorted(SCHEMA.mutation_type.fields) if SCHEMA.mutation_type else []


def mutation_document(name: str) -> str:
    """`name` with a variable for each argument; the test sends values its types reject, so an
    allowed caller passes the policy and fails variable coercion (BAD_USER_INPUT, before any write)
    while a denied one is FORBIDDEN."""
    assert SCHEMA.mutation_type is not None
    args = SCHEMA.mutation_type.fields[name].args
    declared = ", ".join(f"${arg}: {value.type}" for arg, value in args.items())
    passed = ", ".join(f"{arg}: ${arg}" for arg in args)
    return f"mutation M({declared}) {{ {name}({passed}) {{ __typename }} }}"


class AuditLines(logging.Handler):
    """The `opsgraph.audit` lines as the JSON formatter writes them, parsed back."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonLogFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def audit() -> Iterator[AuditLines]:
    handler = AuditLines()
    logger = logging.getLogger("opsgraph.audit")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)


@pytest.fixture
async def url(simulators: SimulatorGroup, world: World) -> AsyncIterator[str]:
    # the demo's auth: anonymous callers are viewers
    async with running_gateway(settings_for(simulators, world, auth={})) as base:
        yield base


async def post(url: str, query: str, role: Role | None, **variables: Any) -> dict[str, Any]:
    headers = {"X-API-Key": DEMO_API_KEYS[role.value]} if role else {}
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        response = await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_shipped_policy_covers_every_mutation_of_the_schema() -> None:
    schema = build_schema()._schema
    assert schema.mutation_type is not None
    compiled = load_policy().compile(schema)
    assert set(schema.mutation_type.fields) <= set(compiled.mutations)
    assert set(MUTATIONS) <= set(MAY_CALL)  # every mutation has its expected roles in the matrix


async def test_role_matrix_fields(url: str) -> None:
    for role in ROLES:
        await check_fields(url, role)


async def check_fields(url: str, role: Role) -> None:
    body = await post(url, PEOPLE, role)
    people = body["data"]["resources"]["nodes"]
    entries = body["data"]["timeEntries"]["nodes"]
    assert len(people) == 5 and len(entries) == 5
    assert all(p["name"] for p in people) and all(e["hours"] > 0 for e in entries)
    values = {
        "Resource.email": [p["email"] for p in people],
        "Resource.costRate": [p["costRate"] for p in people],
        "Resource.timeOff": [p["timeOff"] for p in people],
        "TimeEntry.costRate": [e["costRate"] for e in entries],
    }
    forbidden = {
        e["extensions"]["field"]: e for e in body.get("errors", []) if e["extensions"]["code"] == "FORBIDDEN"
    }
    assert set(forbidden) == (FINANCE_FIELDS | HR_FIELDS) - SEES[role]
    for field, found in values.items():
        if field in SEES[role]:
            assert any(v is not None for v in found), field
        else:
            assert found == [None] * 5, field
            error = forbidden[field]
            assert error["path"][-1] == field.split(".")[1]
            assert error["extensions"]["count"] == 5  # one entry per field, each path listed
            assert len(error["extensions"]["paths"]) == 5
    assert len(body.get("errors", [])) == len(forbidden)


async def test_anonymous_demo_caller_is_a_viewer(url: str) -> None:
    body = await post(url, "query Q { resources(first: 2) { nodes { name email } } }", None)
    assert [p["email"] for p in body["data"]["resources"]["nodes"]] == [None, None]
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_denied_field_in_a_fragment_and_under_an_alias(url: str) -> None:
    query = """query Q { resources(first: 1) { nodes { ...P } } }
    fragment P on Resource { who: name mail: email }"""
    body = await post(url, query, Role.DELIVERY)
    assert body["data"]["resources"]["nodes"] == [
        {"who": body["data"]["resources"]["nodes"][0]["who"], "mail": None}
    ]
    assert body["errors"][0]["path"] == ["resources", "nodes", 0, "mail"]
    finance = await post(url, query, Role.FINANCE)
    assert "errors" not in finance and finance["data"]["resources"]["nodes"][0]["mail"]


@pytest.mark.parametrize("mutation", MUTATIONS)
async def test_role_matrix_mutations(url: str, mutation: str, audit: AuditLines) -> None:
    for role in [*ROLES, None]:
        audit.lines.clear()
        await check_mutation(url, mutation, role, audit)


async def check_mutation(url: str, mutation: str, role: Role | None, audit: AuditLines) -> None:
    assert SCHEMA.mutation_type is not None
    bogus = {arg: {"bogus": 1} for arg in SCHEMA.mutation_type.fields[mutation].args}
    body = await post(url, mutation_document(mutation), role, **bogus)
    assert "data" not in body or body["data"] is None
    allowed = role in MAY_CALL[mutation]
    codes = {error["extensions"]["code"] for error in body["errors"]}
    assert codes == ({"BAD_USER_INPUT"} if allowed else {"FORBIDDEN"}), (mutation, role)
    (line,) = audit.lines
    assert line["operation_type"] == "mutation" and line["operation_name"] == "M"
    assert line["document_hash"].startswith("sha256:") and len(line["document_hash"]) == 71
    assert line["correlation_id"]
    assert line["subject"] == ("anonymous" if role is None else f"api-key:demo-{role.value}")
    assert "bogus" not in json.dumps(line)  # never the variables
    if allowed:
        assert line["audit"] == "mutation" and line["outcome"] == "refused"
        assert line["error_codes"] == ["BAD_USER_INPUT"]
    else:
        assert line["audit"] == "denied" and line["outcome"] == "forbidden"
        assert line["denied"] == [mutation]


async def test_audit_of_a_denied_field_and_of_a_refused_credential(url: str, audit: AuditLines) -> None:
    await post(url, "query Who { resources(first: 1) { nodes { email } } }", Role.VIEWER)
    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.post(
            "/graphql", json={"query": "{ sources { system } }"}, headers={"X-API-Key": "og_nope"}
        )
    assert response.status_code == 401
    first, second = audit.lines
    assert first["audit"] == "denied" and first["operation_name"] == "Who"
    assert first["denied"] == ["Resource.email"] and first["roles"] == ["viewer"]
    assert first["outcome"] == "partial" and first["error_codes"] == ["FORBIDDEN"]
    assert second["outcome"] == "unauthenticated" and second["reason"] == "invalid_api_key"
    assert "og_nope" not in json.dumps(second)


async def test_queries_with_nothing_denied_leave_no_audit_line(url: str, audit: AuditLines) -> None:
    body = await post(url, PEOPLE, Role.FINANCE)
    assert "errors" not in body
    assert audit.lines == []


def test_a_bad_policy_is_a_settings_error_naming_the_key(
    simulators: SimulatorGroup, world: World, tmp_path: Path
) -> None:
    bad_role = tmp_path / "role.toml"
    bad_role.write_text('[fields.money]\nroles = ["financ"]\nfields = ["Resource.costRate"]\n')
    with pytest.raises(ConfigError, match=r"auth\.policy: .*fields\.money\.roles\.0"):
        settings_for(simulators, world, auth={"policy": str(bad_role)})
    bad_field = tmp_path / "field.toml"
    bad_field.write_text('[fields.money]\nroles = ["finance"]\nfields = ["Resource.costRat"]\n')
    settings = settings_for(simulators, world, auth={"policy": str(bad_field)})
    with pytest.raises(
        ConfigError, match=r"auth\.policy: fields\.money\.fields\.0: no field 'Resource\.costRat'"
    ):
        create_app(settings)
    with pytest.raises(ConfigError, match=r"auth\.policy: .*cannot read"):
        settings_for(simulators, world, auth={"policy": str(tmp_path / "missing.toml")})


SELF_POLICY = """
[mutations.resolveWorkflow]
roles = ["finance", "admin"]
self_argument = "note"
for_others = ["admin"]
"""
RESOLVE_FIELD = 'resolveWorkflow(id: "V29ya2Zsb3c6eA", note: $note) { userErrors { code } }'
RESOLVE = f"mutation R($note: String!) {{ {RESOLVE_FIELD} }}"
RESOLVE_IN_FRAGMENT = f"mutation R($note: String!) {{ ...F }}\nfragment F on Mutation {{ {RESOLVE_FIELD} }}"


async def test_a_self_argument_rule_lets_callers_act_for_themselves_only(
    simulators: SimulatorGroup, world: World, tmp_path: Path
) -> None:
    policy = tmp_path / "self.toml"
    policy.write_text(SELF_POLICY)
    settings = settings_for(simulators, world, auth={"policy": str(policy)})
    async with running_gateway(settings) as base:
        for document in (RESOLVE, RESOLVE_IN_FRAGMENT):
            other = await post(base, document, Role.FINANCE, note="api-key:demo-admin")
            assert other["errors"][0]["extensions"] == {"code": "FORBIDDEN", "mutation": "resolveWorkflow"}
            assert other.get("data") is None
            mine = await post(base, document, Role.FINANCE, note="API-KEY:demo-finance")
            assert "FORBIDDEN" not in {e["extensions"]["code"] for e in mine.get("errors", [])}
            admin = await post(base, document, Role.ADMIN, note="someone else")
            assert "FORBIDDEN" not in {e["extensions"]["code"] for e in admin.get("errors", [])}
