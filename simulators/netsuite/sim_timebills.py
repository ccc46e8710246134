"""The NetSuite simulator's time bill writes: upsert by external id, delete, and a log of each write.

- `PUT record/v1/timeBill/eid:{externalId}`: create or update the bill with that external id (204 +
  `Location`), with NetSuite's checks (required fields, references, a closed period refused).
- `DELETE record/v1/timeBill/{id|eid:x}`: 204; 404 `NONEXISTENT_ID` when there is no such bill;
  a bill dated in a closed period cannot be deleted (400 `USER_ERROR`).
- `GET /_sim/writes` lists every time bill write answered 204 (method, ids, `X-Correlation-ID`,
  memo), oldest first; `DELETE /_sim/writes` clears it. Tests count writes here and in `/_sim/stats`
  (route `PUT|DELETE /services/rest/record/v1/timeBill/{rid}`).

Registered ahead of the generic record routes, so these are the routes time bills take.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulators.netsuite import sim_records as records
from simulators.netsuite.sim_records import RecordError
from simulators.simkit.store import Store

RECORD = "timeBill"


class _Sim(Protocol):
    store: Store


def delete(store: Store, rid: str) -> int:
    rt = records.record_type(RECORD)
    row = records.find(store, rt, rid)
    if row is None:
        raise RecordError(404, "NONEXISTENT_ID", f"The record instance does not exist: {rid}.")
    records._check_period(store, row.get("trandate"))
    store.execute(f"DELETE FROM {rt.sql_table} WHERE id = ?", (row["id"],))
    return int(row["id"])


def timebill_routes(sim: _Sim, api_path: str, render: Callable[[RecordError], Response]) -> list[Route]:
    """The routes; `render` turns a `RecordError` into NetSuite's RFC 7807 error response."""
    log: list[dict[str, Any]] = []

    def record(request: Request, rid: str, new_id: int, payload: Any) -> None:
        memo = payload.get("memo") if isinstance(payload, dict) else None
        log.append(
            {
                "method": request.method,
                "record": RECORD,
                "key": rid,
                "id": str(new_id),
                "correlation_id": request.headers.get("x-correlation-id"),
                "memo": memo,
            }
        )

    async def item(request: Request) -> Response:
        rid: str = request.path_params["rid"]
        base = str(request.base_url).rstrip("/") + api_path
        try:
            if request.method == "DELETE":
                record(request, rid, delete(sim.store, rid), None)
                return Response(status_code=204)
            if not rid.startswith("eid:"):
                raise RecordError(
                    405, "METHOD_NOT_ALLOWED", "PUT is only supported with an eid: external id."
                )
            raw = await request.body()
            try:
                payload = json.loads(raw) if raw else None
            except ValueError:
                raise RecordError(400, "INVALID_CONTENT", "The request body is not valid JSON.") from None
            strict = request.headers.get("x-netsuite-propertynamevalidation", "").lower() == "error"
            new_id, _ = records.upsert(
                sim.store, records.record_type(RECORD), rid[4:], payload, strict=strict
            )
            record(request, rid, new_id, payload)
            return Response(status_code=204, headers={"Location": f"{base}/record/v1/{RECORD}/{new_id}"})
        except RecordError as exc:
            return render(exc)
        except sqlite3.IntegrityError as exc:
            return render(records.integrity_error(exc))

    async def writes(request: Request) -> Response:
        if request.method == "DELETE":
            log.clear()
        return JSONResponse({"writes": log})

    return [
        Route(f"{api_path}/record/v1/{RECORD}/{{rid}}", item, methods=["PUT", "DELETE"]),
        Route("/_sim/writes", writes, methods=["GET", "DELETE"]),
    ]
