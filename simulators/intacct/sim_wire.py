"""The simulated XML gateway's envelopes: the request read safely, answers and error envelopes written.

Requests are parsed with `defusedxml` (a DTD or entity in a request is refused, as the gateway would);
answers are built with `xml.etree`. Error numbers are Intacct's where known (`GW-0010` over the
concurrency limit, `XL03000006` bad sign-in); the others are the simulator's own, documented here.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from starlette.responses import Response

BAD_REQUEST = "XL03000003"  # the request is not the gateway's XML
BAD_SIGN_IN = "XL03000006"  # sender or user credentials refused
DUPLICATE_CONTROL = "XL03000009"  # `uniqueid=true` and the control id was used before
RATE_LIMITED = "GW-0010"
NOT_FOUND = "BL01001973"  # no record with that key
DUPLICATE = "BL01001975"  # another record has that id
INVALID = "BL01001976"  # a field is missing, unknown or malformed
BAD_QUERY = "DL02000001"  # a query the gateway cannot run
UNKNOWN_RESULT = "DL02000002"  # readMore on a resultId the gateway does not hold


class GatewayError(Exception):
    def __init__(self, errorno: str, description: str) -> None:
        super().__init__(description)
        self.errorno, self.description = errorno, description


@dataclass
class Parsed:
    sender_id: str
    sender_password: str
    control_id: str
    unique: bool
    session_id: str | None
    login: dict[str, str] | None
    functions: list[tuple[str, Element]] = field(default_factory=list)


def parse_request(body: bytes) -> Parsed:
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ET.ParseError) as exc:
        raise GatewayError(BAD_REQUEST, f"XML parse error: {exc}") from None
    control, operation = root.find("control"), root.find("operation")
    if root.tag != "request" or control is None or operation is None:
        raise GatewayError(BAD_REQUEST, "a request needs <control> and <operation>")
    login_node = operation.find("authentication/login")
    login = {c.tag: (c.text or "") for c in login_node} if login_node is not None else None
    functions = []
    for fn in operation.iterfind("content/function"):
        if len(fn) != 1:
            raise GatewayError(BAD_REQUEST, "a <function> holds exactly one call")
        functions.append((fn.get("controlid", ""), fn[0]))
    return Parsed(
        sender_id=control.findtext("senderid") or "",
        sender_password=control.findtext("password") or "",
        control_id=control.findtext("controlid") or "",
        unique=(control.findtext("uniqueid") or "").strip().lower() == "true",
        session_id=operation.findtext("authentication/sessionid"),
        login=login,
        functions=functions,
    )


def _sub(parent: Element, tag: str, text: str | None = None, **attrs: str) -> Element:
    node = ET.SubElement(parent, tag, attrs)
    if text is not None:
        node.text = text
    return node


def error_message(parent: Element, errors: Iterable[tuple[str, str]]) -> None:
    message = _sub(parent, "errormessage")
    for errorno, description in errors:
        error = _sub(message, "error")
        _sub(error, "errorno", errorno)
        _sub(error, "description", description)
        _sub(error, "description2")
        _sub(error, "correction")


def xml_response(root: Element, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = b'<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root)
    return Response(body, status_code=status, media_type="application/xml", headers=headers)


def failure(errorno: str, description: str, status: int = 200, control_id: str = "") -> Response:
    """A request refused as a whole: control status failure and the error at the top level."""
    root = Element("response")
    control = _sub(root, "control")
    _sub(control, "status", "failure")
    _sub(control, "controlid", control_id)
    error_message(root, [(errorno, description)])
    return xml_response(root, status)


def success(
    control_id: str, results: Sequence[Element], *, auth_status: str = "success", user: str = ""
) -> Response:
    root = Element("response")
    control = _sub(root, "control")
    _sub(control, "status", "success")
    _sub(control, "controlid", control_id)
    _sub(control, "uniqueid", "false")
    _sub(control, "dtdversion", "3.0")
    operation = _sub(root, "operation")
    auth = _sub(operation, "authentication")
    _sub(auth, "status", auth_status)
    _sub(auth, "userid", user)
    for result in results:
        operation.append(result)
    return xml_response(root)


def result(
    function: str, control_id: str, data: Element | None = None, error: GatewayError | None = None
) -> Element:
    node = Element("result")
    _sub(node, "status", "failure" if error else "success")
    _sub(node, "function", function)
    _sub(node, "controlid", control_id)
    if error is not None:
        error_message(node, [(error.errorno, error.description)])
    elif data is not None:
        node.append(data)
    return node


def data(listtype: str, records: Sequence[dict[str, str]], tag: str, **attrs: str) -> Element:
    node = Element("data", {"listtype": listtype, "count": str(len(records)), **attrs})
    for record in records:
        item = _sub(node, tag)
        for name, value in record.items():
            _sub(item, name, value)
    return node
