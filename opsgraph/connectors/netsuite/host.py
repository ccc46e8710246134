"""What the NetSuite write mixins (`writes`, `project_writes`, `invoice_writes`) use of the client they
are mixed into: one protocol, so each mixin's methods type-check against `NetSuiteClient`."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any, Protocol

from opsgraph.connectors.base import UpstreamResponse
from opsgraph.model import ErpCustomer, ErpJob, Invoice


class NetSuiteHost(Protocol):
    @property
    def system(self) -> str: ...

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        retry: bool | None = None,
        ok: Collection[int] = (200,),
    ) -> UpstreamResponse: ...

    async def suiteql(self, q: str) -> list[dict[str, Any]]: ...

    async def currencies(self) -> dict[str, str]: ...

    async def upsert(self, record_type: str, external_id: str, fields: dict[str, Any]) -> str: ...

    async def customers_by_ids(self, ids: Iterable[str]) -> Mapping[str, ErpCustomer]: ...

    async def jobs_by_ids(self, ids: Iterable[str]) -> Mapping[str, ErpJob]: ...

    async def invoices_by_ids(self, ids: Iterable[str]) -> Mapping[str, Invoice]: ...
