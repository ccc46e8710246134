"""The authorization policy: one TOML file (`policy.toml` in this package unless `auth.policy` names
another) declaring field rules, row rules and mutation rules, read and checked at start.

`load_policy` checks the file's shape (known roles, known keys); `Policy.compile` checks it against
the schema (every exact field coordinate exists) and answers, per role set, which fields and
mutations are denied. A problem is a `PolicyError` whose lines name the policy key at fault.
"""

from __future__ import annotations

import fnmatch
import logging
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from graphql import GraphQLInterfaceType, GraphQLObjectType, GraphQLSchema
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from opsgraph.auth.caller import Caller, Role

__all__ = ["DEFAULT_POLICY", "CompiledPolicy", "Policy", "PolicyError", "load_policy"]

log = logging.getLogger("opsgraph.auth")

DEFAULT_POLICY = "policy.toml"
ANY_AUTHENTICATED = "*"
RowType = Literal["Client", "Opportunity", "Engagement", "TimeEntry", "Invoice"]
RowMatch = Literal["region", "legal_entity"]
ROW_TYPES: tuple[RowType, ...] = ("Client", "Opportunity", "Engagement", "TimeEntry", "Invoice")
ROW_MATCHES: tuple[RowMatch, ...] = ("region", "legal_entity")


class PolicyError(Exception):
    """A policy that cannot be used: `problems` holds one line per bad key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class FieldRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = ""
    roles: list[Role] = Field(min_length=1)
    fields: list[str] = Field(min_length=1)


class RowRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    types: list[RowType] = Field(default_factory=lambda: list(ROW_TYPES))
    match: list[RowMatch] = Field(default_factory=lambda: list(ROW_MATCHES), min_length=1)


class MutationRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: list[Role | Literal["*"]] = Field(min_length=1)
    self_argument: str | None = None
    self_identity: Literal["subject", "person"] = Field(
        "subject",
        description="what `self_argument` must equal: the caller's subject, or the Resource the "
        "caller is (the argument a Resource id)",
    )
    for_others: list[Role] = Field(default_factory=list)

    def allows(self, caller: Caller) -> bool:
        if ANY_AUTHENTICATED in self.roles:
            return caller.method != "anonymous"
        return not caller.roles.isdisjoint(role for role in self.roles if role != ANY_AUTHENTICATED)


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: dict[str, FieldRule] = Field(default_factory=dict)
    rows: RowRule = Field(default_factory=RowRule)
    mutations: dict[str, MutationRule] = Field(default_factory=dict)

    def compile(self, schema: GraphQLSchema) -> CompiledPolicy:
        """This policy against `schema`: a `PolicyError` for a field coordinate the schema lacks."""
        problems: list[str] = []
        protected: dict[tuple[str, str], frozenset[Role]] = {}
        for name, rule in self.fields.items():
            for index, pattern in enumerate(rule.fields):
                matched = _coordinates(schema, pattern)
                if not matched and not _is_glob(pattern):
                    problems.append(f"fields.{name}.fields.{index}: no field {pattern!r} in the schema")
                for coordinate in matched:
                    # a field in two rules needs a role of each
                    allowed = frozenset(rule.roles)
                    protected[coordinate] = protected.get(coordinate, allowed) & allowed
        mutation_type = schema.mutation_type
        present = set(mutation_type.fields) if mutation_type is not None else set()
        for name, mrule in self.mutations.items():
            if name not in present:
                log.info("policy: mutations.%s is not in the schema (inactive)", name)
            elif mrule.self_argument is not None and mutation_type is not None:
                head = mrule.self_argument.split(".")[0]
                if head not in mutation_type.fields[name].args:
                    problems.append(f"mutations.{name}.self_argument: {name} has no argument {head!r}")
        if problems:
            raise PolicyError(problems)
        rules = {name: rule for name, rule in self.mutations.items() if name in present}
        return CompiledPolicy(self, _with_interfaces(schema, protected), rules, frozenset(present))


@dataclass(frozen=True)
class CompiledPolicy:
    """`protected`: each protected coordinate (`Type`, `field`) and the roles that may read it (an
    interface's field when any implementation's is protected). `mutations`: the rules of the
    schema's mutations; a mutation without one is refused."""

    policy: Policy
    protected: dict[tuple[str, str], frozenset[Role]]
    mutations: dict[str, MutationRule]
    mutation_names: frozenset[str]

    def __hash__(self) -> int:
        return id(self)

    @property
    def rows(self) -> RowRule:
        return self.policy.rows

    def denied_fields(self, roles: frozenset[Role]) -> frozenset[tuple[str, str]]:
        return _denied_fields(self, roles)

    def denied_mutations(self, caller: Caller) -> frozenset[str]:
        """Mutations `caller` may not call at all (the `self_argument` check comes later)."""
        return frozenset(
            name
            for name in self.mutation_names
            if name not in self.mutations or not self.mutations[name].allows(caller)
        )


@cache
def _denied_fields(policy: CompiledPolicy, roles: frozenset[Role]) -> frozenset[tuple[str, str]]:
    return frozenset(coord for coord, allowed in policy.protected.items() if allowed.isdisjoint(roles))


def _is_glob(pattern: str) -> bool:
    return any(char in pattern for char in "*?[")


def _coordinates(schema: GraphQLSchema, pattern: str) -> list[tuple[str, str]]:
    type_pattern, dot, field_pattern = pattern.partition(".")
    if not dot or not type_pattern or not field_pattern:
        return []
    return [
        (type_name, field_name)
        for type_name, graphql_type in schema.type_map.items()
        if isinstance(graphql_type, GraphQLObjectType) and not type_name.startswith("__")
        if fnmatch.fnmatchcase(type_name, type_pattern)
        for field_name in graphql_type.fields
        if fnmatch.fnmatchcase(field_name, field_pattern)
    ]


def _with_interfaces(
    schema: GraphQLSchema, protected: dict[tuple[str, str], frozenset[Role]]
) -> dict[tuple[str, str], frozenset[Role]]:
    """Adds `Interface.field` wherever an implementation's field is protected (the strictest roles)."""
    out = dict(protected)
    for graphql_type in schema.type_map.values():
        if not isinstance(graphql_type, GraphQLInterfaceType):
            continue
        for field_name in graphql_type.fields:
            implementations = schema.get_implementations(graphql_type).objects
            rules: Iterable[frozenset[Role]] = [
                protected[(impl.name, field_name)]
                for impl in implementations
                if (impl.name, field_name) in protected
            ]
            for allowed in rules:
                key = (graphql_type.name, field_name)
                out[key] = out.get(key, allowed) & allowed
    return out


def load_policy(path: Path | None = None) -> Policy:
    """The policy in `path` (None: the shipped default); a `PolicyError` naming each bad key."""
    try:
        if path is None:
            text = resources.files("opsgraph.auth").joinpath(DEFAULT_POLICY).read_text()
        else:
            text = Path(path).read_text()
        raw = tomllib.loads(text)
    except OSError as exc:
        raise PolicyError([f"cannot read {path}: {exc.strerror}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError([f"invalid TOML: {exc}"]) from None
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        raise PolicyError(
            [
                f"{'.'.join(str(part) for part in error['loc']) or 'policy'}: {error['msg']}"
                for error in exc.errors(include_url=False)
            ]
        ) from None
