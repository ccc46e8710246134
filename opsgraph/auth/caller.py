"""Who is asking: the authenticated caller of one request, kept in the request context for policy."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

__all__ = ["ROLES", "Caller", "Method", "Role"]


class Role(StrEnum):
    VIEWER = "viewer"
    DELIVERY = "delivery"
    FINANCE = "finance"
    EXECUTIVE = "executive"
    ADMIN = "admin"


ROLES: tuple[Role, ...] = tuple(Role)

Method = Literal["jwt", "api_key", "anonymous"]


@dataclass(frozen=True, slots=True)
class Caller:
    """`scopes` are the regions or legal entities the caller may see (None: no claim, all of them).
    `subject` is the token's `sub`, `api-key:<name>` for an API key, `anonymous` otherwise.
    `expires_at`: the token's `exp` plus the allowed skew (epoch seconds); None for the others.
    `person`: the Resource the caller is (its record key, `system:id`), from the token's person claim
    or the key's settings; None when unknown (such a caller acts for nobody in particular)."""

    subject: str
    roles: frozenset[Role]
    scopes: frozenset[str] | None
    method: Method
    expires_at: float | None = None
    person: str | None = None

    def has_role(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)

    @property
    def scope_key(self) -> str:
        """A stable key for what this caller may see (roles and scopes), for role-dependent caches."""
        roles = ",".join(sorted(self.roles))
        scopes = "*" if self.scopes is None else ",".join(sorted(self.scopes))
        return f"{roles}|{scopes}"
