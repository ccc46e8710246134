"""Sage Intacct's XML gateway on the wire: the request envelope out, the response envelope in.

Requests are built with `xml.etree` (values are escaped by the serializer, never spliced as text).
Responses are parsed with `defusedxml`, which refuses a DTD, entity declarations and external
references outright: an answer carrying them (a "billion laughs" bomb, an external entity) is never
expanded, it is a `SourceBadResponse` naming why. Wire facts: VENDOR_APIS_MORE.md section 7a.

The session id travels in the body, not in a header; the envelope holds `SESSION_MARK` where it
goes, and the transport fills it in per attempt (a retry after a fresh login sends the new session).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from opsgraph.connectors.errors import SourceBadResponse

SESSION_MARK = "@@opsgraph-intacct-session@@"
DTD_VERSION = "3.0"

Record = dict[str, str]


@dataclass(frozen=True)
class Credentials:
    sender_id: str
    sender_password: str
    user_id: str
    company_id: str
    user_password: str


@dataclass(frozen=True)
class VendorError:
    errorno: str
    description: str

    def __str__(self) -> str:
        return f"{self.errorno}: {self.description}".strip(": ")


@dataclass(frozen=True)
class Result:
    """One `<result>`: the function's status and its data (records as flat field dicts)."""

    function: str
    control_id: str
    ok: bool
    records: list[Record] = field(default_factory=list)
    errors: tuple[VendorError, ...] = ()
    result_id: str | None = None
    num_remaining: int = 0
    data: Element | None = None


def element(tag: str, children: Mapping[str, Any] | None = None, text: str | None = None) -> Element:
    """`<tag>` with one child per key (a nested mapping nests; a list of mappings repeats the tag)."""
    node = Element(tag)
    if text is not None:
        node.text = text
    for key, value in (children or {}).items():
        if value is None:
            continue
        if isinstance(value, Element):
            node.append(value)
        elif isinstance(value, Mapping):
            node.append(element(key, value))
        elif isinstance(value, list):
            for item in value:
                node.append(element(key, item) if isinstance(item, Mapping) else element(key, text=str(item)))
        else:
            node.append(element(key, text=str(value)))
    return node


def envelope(
    credentials: Credentials,
    control_id: str,
    functions: Sequence[tuple[str, Element]],
    *,
    unique: bool = False,
    login: bool = False,
) -> bytes:
    """A whole request: sender control block, the session (or a login), and the functions with their
    control ids. `unique` asks the gateway to refuse a control id it has seen (`uniqueid=true`)."""
    request = element(
        "request",
        {
            "control": {
                "senderid": credentials.sender_id,
                "password": credentials.sender_password,
                "controlid": control_id,
                "uniqueid": "true" if unique else "false",
                "dtdversion": DTD_VERSION,
                "includewhitespace": "false",
            }
        },
    )
    operation = ET.SubElement(request, "operation")
    auth = ET.SubElement(operation, "authentication")
    if login:
        auth.append(
            element(
                "login",
                {
                    "userid": credentials.user_id,
                    "companyid": credentials.company_id,
                    "password": credentials.user_password,
                },
            )
        )
    else:
        ET.SubElement(auth, "sessionid").text = SESSION_MARK
    content = ET.SubElement(operation, "content")
    for fid, body in functions:
        function = ET.SubElement(content, "function", {"controlid": fid})
        function.append(body)
    return b'<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(request, encoding="unicode").encode()


def parse(system: str, text: str | bytes, status: int) -> Element:
    """The response's root element; malformed XML, a DTD or any entity is a `SourceBadResponse`."""
    try:
        root = fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise SourceBadResponse(
            system, f"refused an XML response with a DTD or entities ({type(exc).__name__})", status=status
        ) from exc
    except ET.ParseError as exc:
        raise SourceBadResponse(
            system, f"response body is not well-formed XML: {exc}", status=status
        ) from exc
    if root.tag != "response":
        raise SourceBadResponse(
            system, f"the XML response's root is <{root.tag}>, not <response>", status=status
        )
    return root


def errors_in(node: Element | None) -> tuple[VendorError, ...]:
    if node is None:
        return ()
    return tuple(
        VendorError(
            (e.findtext("errorno") or "").strip(),
            " ".join(
                t.strip() for t in (e.findtext("description"), e.findtext("description2")) if t and t.strip()
            ),
        )
        for e in node.iter("error")
    )


def status_of(node: Element | None) -> str:
    return ((node.findtext("status") if node is not None else None) or "").strip().lower()


def record_of(node: Element) -> Record:
    """An object element as a flat dict; a nested element's fields are `PARENT.FIELD`."""
    out: Record = {}
    for child in node:
        if len(child):
            out.update({f"{child.tag}.{k}": v for k, v in record_of(child).items()})
        else:
            out[child.tag] = (child.text or "").strip()
    return out


def results(root: Element) -> list[Result]:
    """Every function result of an operation, in order."""
    out = []
    for result in root.iterfind("operation/result"):
        data = result.find("data")
        records = [record_of(r) for r in data] if data is not None else []
        remaining = data.get("numremaining", "0") if data is not None else "0"
        out.append(
            Result(
                function=(result.findtext("function") or "").strip(),
                control_id=(result.findtext("controlid") or "").strip(),
                ok=status_of(result) == "success",
                records=records,
                errors=errors_in(result.find("errormessage")),
                result_id=(data.get("resultId") or None) if data is not None else None,
                num_remaining=int(remaining) if remaining.isdigit() else 0,
                data=data,
            )
        )
    return out
