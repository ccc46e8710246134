"""Structured logs: one JSON object per line (python-json-logger), secrets scrubbed.

Every line carries `time`, `level`, `logger`, `message`, and, inside a request, `correlation_id`
and the current `trace_id`/`span_id` (so a line leads to its trace). Fields passed with `extra=`
are kept. Secrets never reach the output: any field whose name says it holds one (token, secret,
password, authorization, credentials, api key, cookie) is replaced, and token-like text in
messages and tracebacks (`Bearer ...`, `access_token=...`) is masked.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

from opsgraph.context import correlation_id

__all__ = ["REDACTED", "JsonLogFormatter", "TextLogFormatter", "configure_logging", "redact", "scrub"]

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(r"(?i)(secret|token|password|passwd|authorization|credential|api_?key|cookie)")
_SECRET_TEXT = re.compile(
    r"(?i)(\bbearer\s+|\bbasic\s+|(?:access_|refresh_|id_)?token[\"']?\s*[:=]\s*[\"']?"
    r"|(?:client_)?secret[\"']?\s*[:=]\s*[\"']?|password[\"']?\s*[:=]\s*[\"']?"
    r"|api_?key[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;}]+"
)


def scrub(text: str) -> str:
    """`text` with token-like values masked (the name before them kept)."""
    return _SECRET_TEXT.sub(lambda m: m.group(1) + REDACTED, text)


def redact(value: Any, key: str = "") -> Any:
    """`value` with secret-named fields replaced and strings scrubbed, recursively."""
    if key and _SECRET_KEY.search(key):
        return REDACTED
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [redact(v) for v in value]
    return value


class JsonLogFormatter(JsonFormatter):
    def __init__(self) -> None:
        super().__init__(timestamp="time")

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        cid = correlation_id.get()
        if cid is not None:
            log_data.setdefault("correlation_id", cid)
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            log_data.setdefault("trace_id", format(span.trace_id, "032x"))
            log_data.setdefault("span_id", format(span.span_id, "016x"))

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        log_data.pop("color_message", None)  # uvicorn's ANSI-coloured copy of `message`
        return {key: redact(value, key) for key, value in log_data.items()}


class TextLogFormatter(logging.Formatter):
    """Human-readable lines (`log_format = "text"`), scrubbed like the JSON ones."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def configure_logging(level: str = "info", log_format: str = "json") -> logging.Handler:
    """One handler on the root logger, to stderr, in `log_format`; returns it."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter() if log_format == "json" else TextLogFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
