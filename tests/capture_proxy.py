"""A forwarding HTTP proxy for tests: put in front of a simulator, it records each request's headers
(what a vendor would receive), then forwards the request unchanged and returns the answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from aiohttp import web

from simulators.simkit.serve import bind

_HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection"}


class CaptureProxy:
    def __init__(self, target_base_url: str) -> None:
        parts = urlsplit(target_base_url)
        self.target_origin = f"{parts.scheme}://{parts.netloc}"
        self.target_path = parts.path
        self.seen: list[dict[str, str]] = []
        self.base_url = ""

    def base_url_for(self, origin: str) -> str:
        """The target's base URL with this proxy's origin: what a client is configured with."""
        parts = urlsplit(origin)
        return urlunsplit((parts.scheme, parts.netloc, self.target_path, "", ""))

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append({k.lower(): v for k, v in request.headers.items()})
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        body = await request.read()
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method, self.target_origin + request.path_qs, headers=headers, data=body or None
            ) as upstream,
        ):
            payload = await upstream.read()
            kept = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP}
            return web.Response(status=upstream.status, body=payload, headers=kept)


@asynccontextmanager
async def capture_proxy(target_base_url: str) -> AsyncIterator[CaptureProxy]:
    """A `CaptureProxy` serving on a free loopback port in this event loop."""
    proxy = CaptureProxy(target_base_url)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = bind("127.0.0.1", 0)
    site = web.SockSite(runner, sock)
    await site.start()
    proxy.base_url = proxy.base_url_for(f"http://127.0.0.1:{sock.getsockname()[1]}")
    try:
        yield proxy
    finally:
        await runner.cleanup()
        sock.close()
