"""Schemathesis over the authenticated `/graphql` endpoint: queries generated from `schema.graphql`
(every `Query` field, with arguments and selections schemathesis chooses) get no server error: no
5xx and no error coded as a server fault. The gateway runs under uvicorn in a thread of its own,
over the session's simulators, with an API key required (no anonymous role).

Mutations are left out: generated writes would change the shared simulators' state under the other
tests (and start durable workflows); their inputs are covered by the workflow tests.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from test_gateway_support import settings_for

from opsgraph.auth.demo import DEMO_API_KEYS
from opsgraph.gateway.app import create_app
from simulators.simkit.serve import SimulatorGroup, bind
from simulators.world import World

SCHEMA = schemathesis.graphql.from_path(Path(__file__).parent.parent / "schema.graphql").include(
    name_regex=r"^Query\."
)
HEADERS = {"X-API-Key": DEMO_API_KEYS["admin"]}


@pytest.fixture(scope="module")
def gateway_url(simulators: SimulatorGroup, world: World) -> Iterator[str]:
    base = settings_for(simulators, world)
    app = create_app(base.model_copy(update={"auth": base.auth.model_copy(update={"anonymous_role": None})}))
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the gateway stopped before it started")
        threading.Event().wait(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/graphql"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@SCHEMA.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors(case: schemathesis.Case, gateway_url: str) -> None:
    case.call_and_validate(base_url=gateway_url, headers=HEADERS, checks=[not_a_server_error])


def test_the_endpoint_is_authenticated(gateway_url: str) -> None:
    response = httpx.post(gateway_url, json={"query": "{ __typename }"}, timeout=30)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
