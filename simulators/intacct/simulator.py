"""A Sage Intacct XML gateway simulator: one company's books (a legal entity's slice of the world).

`POST /ia/xml/xmlgw.phtml` takes the XML envelope of VENDOR_APIS_MORE.md section 7a: sender
credentials in the control block, a `<login>` (with `<getAPISession/>`) or a session id, and up to
fifty `<function>`s, each answered in its own `<result>`. A session the gateway does not know is
a 401; the rate limit (off unless `faults.rate_limit` is set) answers 429 with `GW-0010`. With
`uniqueid=true` a control id may be used once: a repeat is refused (`XL03000009`), not done again.
State: `sim_state.py`; functions: `sim_functions.py`; envelopes: `sim_wire.py`.

Events (`POST /_sim/events`): `pay_invoice` (`id`: a RECORDNO), `expire_sessions`, `write_counts`
(the writes done since the last reset, by function and object: `{"create PROJECT": 1}`), and
`corrupt_answers` (`body`: `malformed`, `bomb`, `external_entity`, or null to stop): every gateway call
is answered 200 with that XML, to see a client refuse it (and its retries, and its breaker).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any
from xml.etree.ElementTree import Element

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulators.intacct.sim_functions import Functions
from simulators.intacct.sim_state import SCHEMA, load
from simulators.intacct.sim_wire import (
    BAD_REQUEST,
    BAD_SIGN_IN,
    DUPLICATE_CONTROL,
    RATE_LIMITED,
    GatewayError,
    Parsed,
    failure,
    parse_request,
    result,
    success,
)
from simulators.simkit.admin import Faults, RateWindow, build_simulator_app, retry_after_header
from simulators.simkit.serve import SimulatorInfo
from simulators.simkit.store import Store
from simulators.world import World

GATEWAY = "/ia/xml/xmlgw.phtml"
CREDENTIALS = {
    "sender_id": "opsgraph-sender",
    "sender_password": "sim-sender-password",
    "user_id": "opsgraph-api",
    "company_id": "opsgraph-uk",
    "user_password": "sim-user-password",
}
MAX_FUNCTIONS = 50
BOMB = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    "<response><control><status>&lol3;</status></control></response>"
)
CORRUPT = {
    "malformed": "<response><control><status>success</status></control><operation><result>",
    "bomb": BOMB,
    "external_entity": (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<response><control><status>&x;</status></control></response>"
    ),
}


class IntacctSimulator:
    """The `Vendor` for simkit, and the gateway route over one SQLite projection."""

    name = "intacct"

    def __init__(self, world: World) -> None:
        self.world = world
        self.store = Store(SCHEMA)
        load(self.store, world)
        self.functions = Functions(self.store)
        self.sessions: set[str] = set()
        self.used_controls: set[str] = set()
        self.corrupt: str | None = None

    def check_auth(self, request: Request) -> Response | None:
        return None  # credentials travel in the body: the gateway checks them

    def error(self, status: int, code: str, message: str) -> Response:
        return failure(code, message, status)

    def rate_limited(self, retry_after_s: float, window: RateWindow, faults: Faults) -> Response:
        response = failure(
            RATE_LIMITED, "Too many concurrent requests for this company; try again later", 429
        )
        response.headers["Retry-After"] = retry_after_header(retry_after_s)
        return response

    def decorate(self, response: Response, window: RateWindow, faults: Faults) -> None:
        return None

    def public_paths(self) -> Sequence[str]:
        return ()

    async def reset(self) -> None:
        self.store.wipe()
        load(self.store, self.world)
        self.functions = Functions(self.store)
        self.sessions.clear()
        self.used_controls.clear()

    async def event(self, body: dict[str, Any]) -> dict[str, Any]:
        kind = body.get("type")
        if kind == "pay_invoice":
            self.functions.pay_invoice(int(body["id"]))
        elif kind == "write_counts":
            return dict(self.functions.writes)
        elif kind == "expire_sessions":
            self.sessions.clear()
        elif kind == "corrupt_answers":
            if body.get("body") is not None and body.get("body") not in CORRUPT:
                raise ValueError(f"body must be null or one of {sorted(CORRUPT)}")
            self.corrupt = CORRUPT.get(body.get("body") or "")
        else:
            raise ValueError(f"unknown event {kind!r}")
        return {"ok": True}

    # -- the gateway -----------------------------------------------------------------------------

    async def gateway(self, request: Request) -> Response:
        if self.corrupt is not None:
            return Response(self.corrupt, media_type="application/xml")
        try:
            parsed = parse_request(await request.body())
        except GatewayError as exc:
            return failure(exc.errorno, exc.description)
        if (parsed.sender_id, parsed.sender_password) != (
            CREDENTIALS["sender_id"],
            CREDENTIALS["sender_password"],
        ):
            return failure(BAD_SIGN_IN, "Invalid Web Services Authorization", control_id=parsed.control_id)
        if parsed.unique and parsed.control_id in self.used_controls:
            return failure(
                DUPLICATE_CONTROL,
                f"control id {parsed.control_id} was used before",
                control_id=parsed.control_id,
            )
        if len(parsed.functions) > MAX_FUNCTIONS:
            return failure(BAD_REQUEST, f"at most {MAX_FUNCTIONS} functions per request")
        if parsed.login is not None:
            return self._login(parsed, request)
        if parsed.session_id not in self.sessions:
            return failure(BAD_SIGN_IN, "Invalid session", 401, parsed.control_id)
        results = [self._run(fid, call) for fid, call in parsed.functions]
        if parsed.unique:
            self.used_controls.add(parsed.control_id)
        return success(parsed.control_id, results, user=CREDENTIALS["user_id"])

    def _login(self, parsed: Parsed, request: Request) -> Response:
        login = parsed.login or {}
        wanted = {k: CREDENTIALS[k] for k in ("user_id", "company_id", "user_password")}
        given = {"user_id": login.get("userid"), "company_id": login.get("companyid"),
                 "user_password": login.get("password")}  # fmt: skip
        if given != wanted:
            return success(parsed.control_id, [], auth_status="failure")
        session = uuid.uuid4().hex
        self.sessions.add(session)
        api = Element("api")
        for tag, text in (("sessionid", session), ("endpoint", str(request.url)), ("locationid", "")):
            child = Element(tag)
            child.text = text
            api.append(child)
        data = Element("data")
        data.append(api)
        results = [result("getAPISession", fid, data) for fid, _ in parsed.functions]
        return success(parsed.control_id, results, user=CREDENTIALS["user_id"])

    def _run(self, control_id: str, call: Element) -> Element:
        handlers: dict[str, Callable[[Element], Element]] = {
            "readByQuery": self.functions.read_by_query,
            "readMore": self.functions.read_more,
            "create": self.functions.create,
            "update": self.functions.update,
            "delete": self.functions.delete,
        }
        handler = handlers.get(call.tag)
        if handler is None:
            return result(
                call.tag, control_id, error=GatewayError(BAD_REQUEST, f"unknown function {call.tag}")
            )
        try:
            return result(call.tag, control_id, handler(call))
        except GatewayError as exc:
            return result(call.tag, control_id, error=exc)


def create_app(world: World) -> Starlette:
    sim = IntacctSimulator(world)
    return build_simulator_app(sim, [Route(GATEWAY, sim.gateway, methods=["POST"])])


SIMULATOR = SimulatorInfo(
    vendor="intacct",
    create_app=create_app,
    credentials=CREDENTIALS,
    api_path="/ia/xml",
    connector_path=GATEWAY,
)
