"""A gateway stand-in for the crash test: launches the engine, starts one postApprovedTime and runs
until it is killed. `python workflows_worker.py DATABASE_URL SIMULATOR_URLS_JSON KEY`."""

from __future__ import annotations

import asyncio
import json
import sys

from workflows_sim import settings_for, sources_for

from opsgraph.workflows import WorkflowEngine

DATA = {"engagement_code": "ENG-0001", "start": "2026-10-01", "end": "2026-10-31"}


async def main(database_url: str, urls: dict[str, str], key: str) -> None:
    engine = WorkflowEngine(settings_for(database_url), sources_for(urls))
    await engine.launch()
    result = await engine.start("postApprovedTime", DATA, idempotency_key=key, caller="ops", wait=False)
    assert result.workflow is not None
    print("started", result.workflow.id, flush=True)
    await asyncio.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]))
