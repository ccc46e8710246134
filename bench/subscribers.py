"""A load process holding many subscriptions on one gateway: `python -m bench.subscribers URL SSE WS
VARIABLES`. It opens SSE (graphql-sse, distinct connections) and WebSocket (graphql-transport-ws)
subscriptions to `invoiceReadinessChanged`, prints `ready <held> failed <n>` once each has been
registered or refused (a refusal is counted, its reason on stderr, and never waited for); for each event
each subscriber receives it prints nothing; on stdin EOF or a line `report` it prints one JSON line:
per event index, the wall-clock arrival times (`time.time()`) at every subscriber, then exits."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable

import aiohttp

QUERY = """subscription Bench($ids: [ID!]) {
  invoiceReadinessChanged(engagementIds: $ids) { cause readiness { ready amount { amount } } }
}"""

arrivals: dict[int, list[float]] = defaultdict(list)
failures: dict[str, int] = defaultdict(int)


async def sse(
    session: aiohttp.ClientSession, url: str, variables: dict[str, object], opened: asyncio.Event
) -> None:
    body = {"query": QUERY, "variables": variables}
    async with session.post(url, json=body, headers={"Accept": "text/event-stream"}) as resp:
        resp.raise_for_status()
        opened.set()
        index = 0
        async for raw in resp.content:
            if raw.startswith(b"event: next"):
                arrivals[index].append(time.time())
                index += 1


async def ws(
    session: aiohttp.ClientSession, url: str, variables: dict[str, object], opened: asyncio.Event
) -> None:
    async with session.ws_connect(url.replace("http", "ws", 1), protocols=["graphql-transport-ws"]) as sock:
        await sock.send_json({"type": "connection_init"})
        await sock.receive_json()
        await sock.send_json(
            {"id": "1", "type": "subscribe", "payload": {"query": QUERY, "variables": variables}}
        )
        opened.set()
        index = 0
        async for message in sock:
            data = json.loads(message.data)
            if data["type"] == "next":
                arrivals[index].append(time.time())
                index += 1
            elif data["type"] == "ping":
                await sock.send_json({"type": "pong"})


async def hold(
    kind: Callable[[aiohttp.ClientSession, str, dict[str, object], asyncio.Event], Awaitable[None]],
    session: aiohttp.ClientSession,
    url: str,
    variables: dict[str, object],
    opened: asyncio.Event,
) -> bool:
    """One subscription until cancelled; False (the reason counted) when it could not be opened or broke."""
    try:
        await kind(session, url, variables, opened)
    except (aiohttp.ClientError, OSError, ValueError, KeyError) as exc:
        failures[f"{kind.__name__}: {type(exc).__name__} {exc}"[:120]] += 1
        opened.set()
        return False
    return True


async def main(url: str, sse_count: int, ws_count: int, variables: dict[str, object]) -> None:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=None)
    ) as session:
        tasks, events = [], []
        for kind, count in ((sse, sse_count), (ws, ws_count)):
            for _ in range(count):
                opened = asyncio.Event()
                events.append(opened)
                tasks.append(asyncio.create_task(hold(kind, session, url, variables, opened)))
                if len(tasks) % 100 == 0:
                    await asyncio.sleep(0.05)  # a gentle ramp: the gateway accepts, not a SYN flood
        await asyncio.gather(*(e.wait() for e in events))
        failed = sum(failures.values())
        for reason, count in failures.items():
            print(f"{count} x {reason}", file=sys.stderr, flush=True)
        print(f"ready {len(tasks) - failed} failed {failed}", flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line or line.strip() == "report":
                break
        print(json.dumps({str(k): v for k, v in sorted(arrivals.items())}), flush=True)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])))
