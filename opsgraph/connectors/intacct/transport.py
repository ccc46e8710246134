"""Sage Intacct's XML gateway under the ERP port: session, envelopes, errors, paging.

Every call is a `POST` of one XML envelope to the gateway (`xmlgw.phtml`): sender credentials in the
control block, the API session in the operation, one or more `<function>`s (several reads in one
request where that saves round trips). Login is `<login>` + `<getAPISession/>`, answering the session
id and the endpoint to post to; a 401 for a session the gateway no longer knows logs in once more.
`readByQuery` pages by `pagesize`; `readMore` with the `resultId` continues until `numremaining` is 0
(sequential: each page names the cursor). Writes send `uniqueid=true` with a control id derived from
the idempotency key: a repeat of a write the gateway already did is refused, never done twice.

What the base transport could not give an XML vendor is here: the body is XML, not JSON or a form;
the credentials travel inside the body (`SESSION_MARK`, filled per attempt); a 200 can still be a
failure (`<status>failure</status>` with `errorno`s), so the result of every function is checked.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar
from xml.etree.ElementTree import Element

from opsgraph.clock import Clock
from opsgraph.connectors.base import SourceClient, SourceConfig, UpstreamResponse
from opsgraph.connectors.errors import SourceBadResponse, SourceRejected, SourceUnavailable
from opsgraph.connectors.intacct import xmlwire
from opsgraph.connectors.intacct.xmlwire import Credentials, Record, Result, element
from opsgraph.connectors.toolkit.retry_after import retry_after_header
from opsgraph.model import Role

SESSION_HEADER = "X-Opsgraph-Intacct-Session"
"""Carries the session from `auth_headers` to `raw_request`, which moves it into the body (never sent)."""
PAGE_SIZE = 1000  # readByQuery's `pagesize` (the gateway allows up to 2000)
IN_LIMIT = 500  # keys per `RECORDNO IN (...)`: the query string stays well under the gateway's limits
FUNCTIONS_PER_REQUEST = 10
RATE_LIMITED = "GW-0010"
DUPLICATE_CONTROL = "XL03000009"  # the control id of a `uniqueid=true` request was used before


def quote(value: str) -> str:
    """A query string literal: quotes doubled, so no value can end the literal early."""
    return "'" + value.replace("'", "''") + "'"


def _credentials(config: SourceConfig) -> Credentials:
    creds = config.credentials
    keys = ("sender_id", "sender_password", "user_id", "company_id", "user_password")
    missing = [k for k in keys if not creds.get(k)]
    if missing:
        raise ValueError(f"intacct credentials are missing: {', '.join(missing)}")
    return Credentials(*(creds[k] for k in keys))


class IntacctTransport(SourceClient):
    vendor: ClassVar[str] = "intacct"
    role: ClassVar[Role] = Role.ERP

    def __init__(
        self, config: SourceConfig, *, system: str | None = None, clock: Clock | None = None
    ) -> None:
        super().__init__(config, system=system, clock=clock)
        self.credentials = _credentials(config)
        self._api: tuple[str, str] | None = None  # (session id, endpoint)
        self._login_lock = asyncio.Lock()

    # -- session ----------------------------------------------------------------------------------

    async def _login(self) -> tuple[str, str]:
        body = xmlwire.envelope(
            self.credentials, str(uuid.uuid4()), [("login", Element("getAPISession"))], login=True
        )
        response = await self.request("POST", self.config.base_url, data=body, retry=True, auth=False)
        result = self._one(response, "getAPISession")
        api = result.data.find("api") if result.data is not None else None
        session = (api.findtext("sessionid") or "").strip() if api is not None else ""
        endpoint = (api.findtext("endpoint") or "").strip() if api is not None else ""
        if not session:
            raise SourceBadResponse(self.system, "getAPISession answered no session id")
        return session, endpoint or self.config.base_url

    async def api_session(self) -> tuple[str, str]:
        if self._api is None:
            async with self._login_lock:
                if self._api is None:
                    self._api = await self._login()
        return self._api

    async def auth_headers(self) -> dict[str, str]:
        return {SESSION_HEADER: (await self.api_session())[0]}

    def invalidate_auth(self) -> None:
        self._api = None

    # -- wire hooks -------------------------------------------------------------------------------

    async def raw_request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        data: Mapping[str, str] | bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> UpstreamResponse:
        """One exchange: the session moved into the body, the answer parsed as XML (safely)."""
        sent = dict(headers or {})
        session = sent.pop(SESSION_HEADER, None)
        if isinstance(data, bytes):
            if session is not None:
                data = data.replace(xmlwire.SESSION_MARK.encode(), session.encode())
            sent["Content-Type"] = "application/xml"
        response = await super().raw_request(method, path, params=params, json=json, data=data, headers=sent)
        text = response.body if isinstance(response.body, str) else ""
        if 200 <= response.status < 300 or text.lstrip().startswith("<"):
            try:
                root = xmlwire.parse(self.system, text, response.status)
            except SourceBadResponse:
                if 200 <= response.status < 300:
                    raise
                return response  # an error page that is not the gateway's XML: keep its text
            return UpstreamResponse(response.status, response.headers, root, response.url)
        return response

    def retry_after(self, response: UpstreamResponse) -> float | None:
        """429 (`GW-0010`, over the company's concurrent request limit): wait as told, else a second."""
        limited = response.status == 429 or any(e.errorno == RATE_LIMITED for e in self._errors(response))
        if not limited:
            return None
        wait = retry_after_header(response.headers, self.clock)
        return 1.0 if wait is None else wait

    def error_detail(self, response: UpstreamResponse) -> tuple[str | None, str]:
        errors = self._errors(response)
        if errors:
            return errors[0].errorno or None, str(errors[0])
        if isinstance(response.body, str) and response.body:
            return None, response.body[:200]
        return None, f"HTTP {response.status}"

    @staticmethod
    def _errors(response: UpstreamResponse) -> tuple[xmlwire.VendorError, ...]:
        body = response.body
        return xmlwire.errors_in(body) if isinstance(body, Element) else ()

    # -- calls ------------------------------------------------------------------------------------

    def _checked(self, response: UpstreamResponse) -> list[Result]:
        root = response.body
        if not isinstance(root, Element):
            raise SourceBadResponse(self.system, "the gateway answered no XML", status=response.status)
        if xmlwire.status_of(root.find("control")) != "success":
            errors = xmlwire.errors_in(root.find("errormessage"))
            if any(e.errorno == DUPLICATE_CONTROL for e in errors):
                raise DuplicateControl(self.system, str(errors[0]), vendor_code=DUPLICATE_CONTROL)
            raise SourceRejected(
                self.system,
                "; ".join(map(str, errors)) or "request failed",
                vendor_code=errors[0].errorno if errors else None,
            )
        auth = root.find("operation/authentication")
        if xmlwire.status_of(auth) not in ("success", ""):
            raise SourceUnavailable(
                self.system,
                "authentication failed: " + "; ".join(map(str, xmlwire.errors_in(root.find("operation")))),
            )
        return xmlwire.results(root)

    def _one(self, response: UpstreamResponse, function: str) -> Result:
        found = self._checked(response)
        if len(found) != 1:
            raise SourceBadResponse(self.system, f"{function}: expected one result, got {len(found)}")
        return self.succeeded(found[0])

    def succeeded(self, result: Result) -> Result:
        if not result.ok:
            codes = [e.errorno for e in result.errors]
            raise SourceRejected(
                self.system,
                f"{result.function} failed: " + ("; ".join(map(str, result.errors)) or "no error given"),
                vendor_code=codes[0] if codes else None,
            )
        return result

    async def call(self, functions: Sequence[Element], *, write_key: str | None = None) -> list[Result]:
        """One request with these functions; their results in order (unchecked: see `succeeded`).

        With `write_key` the request is a write: `uniqueid=true` and a control id derived from the key,
        so the gateway refuses a repeat (`DuplicateControl`) instead of doing it twice; reads are retried.
        """
        _, endpoint = await self.api_session()
        control = _control_id(write_key) if write_key is not None else str(uuid.uuid4())
        tagged = [(f"{control}-{n}", body) for n, body in enumerate(functions)]
        body = xmlwire.envelope(self.credentials, control, tagged, unique=write_key is not None)
        response = await self.request("POST", endpoint, data=body, retry=write_key is None)
        found = {r.control_id: r for r in self._checked(response)}
        missing = [fid for fid, _ in tagged if fid not in found]
        if missing:
            raise SourceBadResponse(self.system, f"no result for function {missing[0]}")
        return [found[fid] for fid, _ in tagged]

    async def read_all(self, queries: Sequence[Element]) -> list[list[Record]]:
        """Each `readByQuery` to the end: the first pages of up to ten queries per request, then
        `readMore` on each cursor until nothing remains."""
        out: list[list[Record]] = []
        for at in range(0, len(queries), FUNCTIONS_PER_REQUEST):
            firsts = await self.call(queries[at : at + FUNCTIONS_PER_REQUEST])
            for first in firsts:
                page = self.succeeded(first)
                records = list(page.records)
                while page.num_remaining > 0:
                    if not page.result_id:
                        raise SourceBadResponse(self.system, "records remain but no resultId was given")
                    more = element("readMore", {"resultId": page.result_id})
                    page = self.succeeded((await self.call([more]))[0])
                    records += page.records
                out.append(records)
        return out

    async def query(self, obj: str, fields: Sequence[str], where: str) -> list[Record]:
        return (await self.read_all([read_by_query(obj, fields, where)]))[0]


class DuplicateControl(SourceRejected):
    """A `uniqueid=true` write whose control id the gateway has seen: it was done once already."""


def _control_id(key: str) -> str:
    return "opsgraph-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def read_by_query(obj: str, fields: Sequence[str], where: str, page_size: int = PAGE_SIZE) -> Element:
    return element(
        "readByQuery",
        {"object": obj, "fields": ",".join(fields), "query": where, "pagesize": str(page_size)},
    )
