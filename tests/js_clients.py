"""The npm subscription clients (`tests/js`, installed by the Makefile with `npm ci`), run with `node`."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

JS = Path(__file__).parent / "js"


def node_or_skip() -> str:
    """The `node` binary, with the clients installed; skips without them (fails under CI=true)."""
    node = shutil.which("node")
    if node is None or not (JS / "node_modules" / "graphql-ws").is_dir():
        reason = "node or the npm clients are missing (make installs them: tests/js, npm ci)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return node


@dataclass
class NodeSubscriber:
    """`node subscribe.mjs`: one subscription over graphql-ws (`ws`) or graphql-sse (`sse`)."""

    process: asyncio.subprocess.Process
    lines: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    async def start(
        cls, transport: str, url: str, query: str, variables: dict[str, Any], count: int
    ) -> NodeSubscriber:
        process = await asyncio.create_subprocess_exec(
            node_or_skip(),
            str(JS / "subscribe.mjs"),
            transport,
            url,
            query,
            json.dumps(variables),
            str(count),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def results(self, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        """Every line it printed, once it exited by itself (it had its count)."""
        async with asyncio.timeout(timeout_s):
            out, err = await self.process.communicate()
        self.lines = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
        assert self.process.returncode == 0, (self.lines, err.decode())
        return self.lines

    async def stop(self) -> list[dict[str, Any]]:
        """Stop it; what it printed so far."""
        if self.process.returncode is None:
            self.process.terminate()
        out, _ = await self.process.communicate()
        return [json.loads(line) for line in out.decode().splitlines() if line.strip()]
