"""The bench's floors, served in a process of their own: `python -m bench.floor ANSWERS_JSON`.

ANSWERS_JSON maps each bench query's name to the gateway's response to it (`{"data": ...}`, and
`body`: the response's bytes). Two endpoints answer the same documents with the same data:
- `POST /graphql`: strawberry executing the document over plain dataclasses (`floor_schema`);
- `POST /bytes/{query}`: a plain Starlette endpoint returning the pre-serialised response.

Prints `ready http://127.0.0.1:PORT` once listening.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from pathlib import Path
from typing import Any

import uvicorn
import uvloop
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from bench.floor_schema import Query, floor_schema


class FloorGraphQL(GraphQL):
    def __init__(self, data: dict[str, Any]) -> None:
        schema, self.root = floor_schema(data)
        super().__init__(schema, graphql_ide=None)

    async def get_root_value(self, request: Any) -> Query:  # type: ignore[override]
        return self.root


def app(answers: dict[str, dict[str, Any]]) -> Starlette:
    data: dict[str, Any] = {}
    for answer in answers.values():
        data.update(answer["data"])
    bodies = {name: answer["body"].encode() for name, answer in answers.items()}

    async def pre_serialised(request: Request) -> Response:
        await request.body()
        return Response(bodies[request.path_params["query"]], media_type="application/json")

    return Starlette(
        routes=[
            Route("/bytes/{query}", pre_serialised, methods=["POST"]),
            Route("/graphql", FloorGraphQL(data), methods=["POST"]),
        ]
    )


async def serve(answers: dict[str, dict[str, Any]]) -> None:
    """On uvloop with httptools, as the gateway serves (`opsgraph.cli`)."""
    config = uvicorn.Config(
        app(answers), log_level="warning", access_log=False, lifespan="off", http="httptools"
    )
    server = uvicorn.Server(config)
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        port = sock.getsockname()[1]
        print(f"ready http://127.0.0.1:{port}", flush=True)  # connections queue until it serves
        await server.serve(sockets=[sock])


def main() -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(json.loads(Path(sys.argv[1]).read_text())))


if __name__ == "__main__":
    main()
