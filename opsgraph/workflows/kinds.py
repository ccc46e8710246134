"""What a mutation is to the engine: a `WorkflowKind` (validate, plan, execute and compensate steps).

A kind speaks to role ports only, found through `Systems` (the gateway's `Sources` is one). Its plan
is a list of `PlannedStep`s fixed when the workflow starts (a checkpointed DBOS step), so a workflow
resumed after a crash or replayed from the exception queue runs the same steps with the same inputs.
Each step writes to at most one system, through that system's write queue, and is idempotent by
itself (an upsert on an external id, or an idempotency key derived from the workflow and the step).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field

from opsgraph.model import Role
from opsgraph.roles import CrmPort, ErpPort, HrPort, PsaPort
from opsgraph.workflows.records import UnknownKind, UserError


class SystemEntry(Protocol):
    """One configured system: its name, role and client (which implements the role's port)."""

    @property
    def name(self) -> str: ...

    @property
    def role(self) -> Role: ...

    @property
    def vendor(self) -> str: ...

    @property
    def client(self) -> object: ...


class Systems(Protocol):
    """The configured systems (the gateway's `Sources` satisfies this)."""

    def of_role(self, role: Role) -> Sequence[SystemEntry]: ...

    def system(self, name: str) -> SystemEntry: ...


def crm(systems: Systems, name: str) -> CrmPort:
    return cast(CrmPort, systems.system(name).client)


def psa(systems: Systems, name: str) -> PsaPort:
    return cast(PsaPort, systems.system(name).client)


def hr(systems: Systems, name: str) -> HrPort:
    return cast(HrPort, systems.system(name).client)


def erp(systems: Systems, name: str) -> ErpPort:
    return cast(ErpPort, systems.system(name).client)


class PlannedStep(BaseModel):
    """One write of a plan: `system` is the configured system it writes to (its queue), `args`
    what the kind needs to do it (JSON values only: it is checkpointed)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    system: str | None = None
    action: str
    args: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class StepContext:
    """What a step knows of its workflow. `idempotency_key` is the same for every attempt of the
    step, so a vendor idempotency key or external reference derived from it writes once."""

    workflow_id: str
    correlation_id: str
    step: PlannedStep

    @property
    def idempotency_key(self) -> str:
        return f"{self.workflow_id}/{self.step.name}"


In = TypeVar("In", bound=BaseModel)


class WorkflowKind(ABC, Generic[In]):
    """A mutation: `name` is its GraphQL field (`postApprovedTime`)."""

    name: ClassVar[str]
    input_model: ClassVar[type[BaseModel]]

    def parse(self, data: Mapping[str, Any]) -> In:
        return cast(In, self.input_model.model_validate(data))

    @abstractmethod
    async def validate(self, systems: Systems, data: In) -> list[UserError]:
        """The live business rules, before any write: each failure is a `UserError`."""

    @abstractmethod
    async def plan(self, systems: Systems, data: In, workflow_id: str) -> list[PlannedStep]:
        """The writes to make, read from the systems now (runs once per workflow, checkpointed)."""

    @abstractmethod
    async def execute(
        self, systems: Systems, ctx: StepContext, done: Mapping[str, dict[str, Any]]
    ) -> dict[str, Any]:
        """Make the step's write; `done` holds the results of the steps before it, by name."""

    async def compensate(self, systems: Systems, ctx: StepContext, result: dict[str, Any] | None) -> None:
        """Undo the step (`result` is None when it failed part way). Must be safe to repeat.
        The default has nothing to undo."""
        return None

    def written(self, step: PlannedStep, result: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        """(system, entity, id) of each record the step wrote (or undid): their cache entries, and
        the lists of their entities, are dropped once it has."""
        return []

    def summarize(self, data: In, results: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
        """The workflow's result once every step is done."""
        return {"steps": dict(results)}


KINDS: dict[str, WorkflowKind[Any]] = {}


def register(kind: WorkflowKind[Any]) -> WorkflowKind[Any]:
    KINDS[kind.name] = kind
    return kind


def kind_named(name: str) -> WorkflowKind[Any]:
    try:
        return KINDS[name]
    except KeyError:
        raise UnknownKind(f"unknown workflow kind {name!r}; known: {sorted(KINDS)}") from None
