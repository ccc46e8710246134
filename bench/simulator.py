"""`python -m bench.simulator VENDOR --port N`: one vendor's simulator in a process of its own.

`make bench` starts one of these per vendor, so upstream calls the gateway makes in
parallel are served in parallel too (four simulators sharing one interpreter queue
behind each other's CPU work and inflate the cold figures). Each process builds the
same world (seed, profile) as `opsgraph simulate` and prints one `ready VENDOR URL` line
once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import gc

import uvicorn

from opsgraph.model import SourceName
from simulators.simkit.serve import bind, simulator_info
from simulators.world import build_world


async def serve(source: SourceName, *, profile: str, seed: int, host: str, port: int) -> None:
    app = simulator_info(source).create_app(build_world(seed=seed, profile=profile))
    sock = bind(host, port)
    sock.listen(2048)  # connections queue from now on, so "ready" can be printed before serving
    gc.collect()
    gc.freeze()  # the world lives as long as the process: keep it out of GC scans
    print(f"ready {source.value} http://{host}:{sock.getsockname()[1]}", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    await server.serve(sockets=[sock])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("vendor", choices=[s.value for s in SourceName])
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--profile", default="large")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(
        serve(SourceName(args.vendor), profile=args.profile, seed=args.seed, host=args.host, port=args.port)
    )


if __name__ == "__main__":
    main()
