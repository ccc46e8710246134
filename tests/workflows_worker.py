"""A gateway stand-in for the crash tests: launches the engine, starts one workflow and runs until
it is killed. `python workflows_worker.py DATABASE_URL SIMULATOR_URLS_JSON KEY [KIND DATA_JSON]`
(default: ENG-0001's October postApprovedTime)."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from workflows_sim import settings_for, sources_for

from opsgraph.workflows import WorkflowEngine

KIND = "postApprovedTime"
DATA = {"engagement_code": "ENG-0001", "start": "2026-10-01", "end": "2026-10-31"}


async def main(database_url: str, urls: dict[str, str], key: str, kind: str, data: dict[str, Any]) -> None:
    engine = WorkflowEngine(settings_for(database_url), sources_for(urls))
    await engine.launch()
    result = await engine.start(kind, data, idempotency_key=key, caller="ops", wait=False)
    assert result.workflow is not None, result.user_errors
    print("started", result.workflow.id, flush=True)
    await asyncio.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    kind, data = (sys.argv[4], json.loads(sys.argv[5])) if len(sys.argv) > 5 else (KIND, DATA)
    asyncio.run(main(sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], kind, data))
