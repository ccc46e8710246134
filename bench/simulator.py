"""`python -m bench.simulator SYSTEM --stack STACK --port N`: one simulator in a process of its own.

`make bench` starts one of these per system of a stack, so upstream calls the gateway makes in
parallel are served in parallel too (four simulators sharing one interpreter queue
behind each other's CPU work and inflate the cold figures). Each process builds the
same world (seed, profile) as `opsgraph simulate`, serves the stack's view of it and prints one
`ready SYSTEM URL` line once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import gc

import uvicorn

from simulators.simkit.serve import bind, simulator_info
from simulators.simkit.stacks import DEFAULT_STACK, STACKS, plan_systems
from simulators.world import build_world


async def serve(system: str, *, stack: str, profile: str, seed: int, host: str, port: int) -> None:
    plans = {plan.name: plan for plan in plan_systems(build_world(seed=seed, profile=profile), stack)}
    if system not in plans:
        raise SystemExit(f"the {stack} stack has no system {system!r}; it has {', '.join(plans)}")
    plan = plans[system]
    app = simulator_info(plan.vendor).create_app(plan.world)
    sock = bind(host, port)
    sock.listen(2048)  # connections queue from now on, so "ready" can be printed before serving
    gc.collect()
    gc.freeze()  # the world lives as long as the process: keep it out of GC scans
    print(f"ready {system} http://{host}:{sock.getsockname()[1]}", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    await server.serve(sockets=[sock])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("system", help="a system of the stack, named after its vendor (e.g. harvest)")
    parser.add_argument("--stack", choices=list(STACKS), default=DEFAULT_STACK)
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--profile", default="large")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(
        serve(
            args.system,
            stack=args.stack,
            profile=args.profile,
            seed=args.seed,
            host=args.host,
            port=args.port,
        )
    )


if __name__ == "__main__":
    main()
