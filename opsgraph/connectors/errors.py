"""Errors a connector raises. Each carries the GraphQL `extensions.code` it surfaces as."""

from __future__ import annotations

from typing import ClassVar

from opsgraph.context import current_correlation_id

PUBLIC_MESSAGES = {
    "SOURCE_UNAVAILABLE": "{} is unavailable",
    "SOURCE_TIMEOUT": "{} did not answer in time",
    "SOURCE_RATE_LIMITED": "{} is limiting our requests; try again later",
    "SOURCE_REJECTED": "{} could not answer this request",
    "SOURCE_DATA_ERROR": "{} sent data that could not be read",
}


def public_message(code: str, system: str) -> str:
    """What clients are told: our words for the code and the configured system's name, never the
    vendor's text (which may hold internals: hosts, queries, account names). That goes to the log."""
    return PUBLIC_MESSAGES.get(code, "{} failed").format(f"System {system}")


class SourceError(Exception):
    code: ClassVar[str] = "SOURCE_UNAVAILABLE"

    def __init__(
        self,
        system: str,
        message: str,
        *,
        status: int | None = None,
        vendor_code: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.system = system
        self.message = message
        self.status = status
        self.vendor_code = vendor_code
        self.correlation_id = correlation_id or current_correlation_id()

    def __str__(self) -> str:
        return f"{self.system}: {self.message}"

    @property
    def public_message(self) -> str:
        return public_message(self.code, self.system)


class SourceUnavailable(SourceError):
    """Connection refused, a 5xx, an outage, an open circuit or failed auth."""

    code = "SOURCE_UNAVAILABLE"


class SourceTimeout(SourceError):
    code = "SOURCE_TIMEOUT"


class SourceRateLimited(SourceError):
    code = "SOURCE_RATE_LIMITED"

    def __init__(
        self,
        system: str,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        vendor_code: str | None = None,
    ) -> None:
        super().__init__(system, message, status=status, vendor_code=vendor_code)
        self.retry_after = retry_after


class SourceRejected(SourceError):
    """A 4xx the vendor gave for our request: a bad query, a missing record, a failed validation."""

    code = "SOURCE_REJECTED"


class SourceDataError(SourceError):
    """A vendor record that cannot be mapped: a required field missing or malformed."""

    code = "SOURCE_DATA_ERROR"

    def __init__(
        self,
        system: str,
        message: str,
        *,
        record_id: str | int | None = None,
        field: str | None = None,
    ) -> None:
        detail = message
        if record_id is not None or field is not None:
            detail = f"{message} (record {record_id!s}, field {field})"
        super().__init__(system, detail)
        self.record_id = None if record_id is None else str(record_id)
        self.field = field


class SourceBadResponse(SourceUnavailable):
    """A 2xx that is not what the API answers (not JSON, or JSON of the wrong shape): the system
    failing, like a 5xx, so it is retried, counted, moves the breaker and lets the cache serve stale."""
