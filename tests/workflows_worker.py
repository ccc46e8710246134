"""A gateway stand-in for the crash tests: launches the engine, starts one workflow and runs until
it is killed.
`python workflows_worker.py DATABASE_URL SIMULATOR_URLS_JSON KEY [EXECUTOR_ID [DATA_JSON [KIND]]]`
(default: ENG-0001's October postApprovedTime; an EXECUTOR_ID of `-` means none)."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from workflows_sim import settings_for, sources_for

from opsgraph.workflows import WorkflowEngine

KIND = "postApprovedTime"
DATA = {"engagement_code": "ENG-0001", "start": "2026-10-01", "end": "2026-10-31"}


async def main(
    database_url: str,
    urls: dict[str, str],
    key: str,
    executor_id: str | None,
    kind: str,
    data: dict[str, Any],
) -> None:
    engine = WorkflowEngine(settings_for(database_url, executor_id=executor_id), sources_for(urls))
    await engine.launch()
    result = await engine.start(kind, data, idempotency_key=key, caller="ops", wait=False)
    assert result.workflow is not None, result.user_errors
    print("started", result.workflow.id, flush=True)
    await asyncio.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    args = sys.argv[1:]
    executor = args[3] if len(args) > 3 and args[3] != "-" else None
    data = json.loads(args[4]) if len(args) > 4 else DATA
    kind = args[5] if len(args) > 5 else KIND
    asyncio.run(main(args[0], json.loads(args[1]), args[2], executor, kind, data))
