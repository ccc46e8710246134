"""GraphQL-shaped error bodies for failures outside GraphQL execution (bad HTTP, unexpected crashes)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cross_web import HTTPException
from starlette.responses import Response

__all__ = [
    "BAD_REQUEST",
    "GRAPHQL_JSON",
    "GRAPHQL_RESPONSE_JSON",
    "INTERNAL",
    "HTTPError",
    "error_body",
    "error_response",
]

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
GRAPHQL_JSON = "application/json"
BAD_REQUEST = "BAD_REQUEST"
INTERNAL = "INTERNAL"


class HTTPError(HTTPException):
    """A request refused before execution, with optional response headers (e.g. `Allow`) and an
    `extensions.code` more precise than the status's default (BAD_REQUEST, INTERNAL)."""

    def __init__(
        self,
        status_code: int,
        reason: str,
        headers: Mapping[str, str] | None = None,
        *,
        code: str | None = None,
    ) -> None:
        super().__init__(status_code, reason)
        self.headers = dict(headers or {})
        self.code = code


def error_body(message: str, code: str, **extensions: Any) -> bytes:
    body = {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}
    return json.dumps(body, separators=(",", ":")).encode()


def error_response(
    status_code: int,
    message: str,
    *,
    media_type: str = GRAPHQL_JSON,
    headers: Mapping[str, str] | None = None,
    code: str | None = None,
    **extensions: Any,
) -> Response:
    code = code or (INTERNAL if status_code >= 500 else BAD_REQUEST)
    return Response(
        error_body(message, code, **extensions),
        status_code=status_code,
        media_type=media_type,
        headers=headers,
    )
