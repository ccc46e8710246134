"""A closed-loop load generator, run as its own process.

Usage: `python -m bench.load URL QUERY_FILE CONCURRENCY SECONDS`.

Prints one JSON line: requests per second, p50/p95 latency in ms, the error count (a status other
than 200, or a body with top-level `errors`), and the CPU the generator itself used (`cpu_s`).

Each of CONCURRENCY connections is kept alive and sends the same pre-built POST as soon as the previous
answer is in, over raw asyncio sockets (uvloop): the client must not be the cap. An aiohttp client
spent about 1.4 ms of CPU per 37 KB answer (most of it decoding the JSON), so on this 2-core machine
it capped the bytes endpoint near 500 requests/s and took a core from the server it measured.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import uvloop

_ERRORS = b'"errors":'


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: `request()` sends the request and waits for its answer."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.transport: asyncio.Transport | None = None
        self.need = -1  # the answer's total size once its head is parsed
        self.status = 0
        self.head = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.need < 0:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status_line, *lines = bytes(self.buffer[:end]).split(b"\r\n")
            self.status = int(status_line[9:12])
            length = -1
            for line in lines:
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            if length < 0:
                self._finish(ConnectionError("an answer without content-length"))
                return
            self.head, self.need = end + 4, end + 4 + length
        if len(self.buffer) >= self.need:
            body = bytes(self.buffer[self.head : self.need])
            del self.buffer[: self.need]
            self.need = -1
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_result((self.status, body))

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(exc or ConnectionError("closed"))

    def _finish(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    async def request(self, data: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.waiter


def request_bytes(url: str, query: str) -> tuple[str, int, bytes]:
    """Host, port and the whole POST (headers and JSON body) for `url`."""
    parts = urlsplit(url)
    body = json.dumps({"query": query}).encode()
    head = (
        f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return parts.hostname or "127.0.0.1", parts.port or 80, head.encode() + body


async def worker(
    host: str, port: int, data: bytes, deadline: float, latencies: list[float], errors: list[int]
) -> None:
    loop = asyncio.get_running_loop()
    connection: _Connection | None = None
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        try:
            if connection is None:
                _, connection = await loop.create_connection(_Connection, host, port)
            status, body = await connection.request(data)
            if status != 200 or _ERRORS in body:
                errors.append(1)
        except (ConnectionError, OSError, ValueError):
            errors.append(1)
            connection = None
        latencies.append((time.perf_counter() - started) * 1000)
    if connection is not None and connection.transport is not None:
        connection.transport.close()


async def run(url: str, query: str, concurrency: int, seconds: float) -> dict[str, float]:
    host, port, data = request_bytes(url, query)
    latencies: list[float] = []
    errors: list[int] = []
    cpu_started, started = time.process_time(), time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(worker(host, port, data, deadline, latencies, errors) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies) or [0.0]
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": ordered[len(ordered) // 2],
        "p95_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
        "errors": float(len(errors)),
        "requests": float(len(latencies)),
        "cpu_s": time.process_time() - cpu_started,
    }


def main() -> None:
    url, query_file, concurrency, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        result = runner.run(run(url, Path(query_file).read_text(), concurrency, seconds))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
