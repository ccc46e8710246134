"""Settings of the workflow engine: where DBOS keeps its state, and each system's write queue.

Read from `OPSGRAPH_WORKFLOWS__*` (the gateway's settings nest this model under `workflows`):
`OPSGRAPH_WORKFLOWS__DATABASE_URL=postgresql://...` moves the store to PostgreSQL (replicas); left
unset, the store is a SQLite file in `data_dir` (the demo, one process). Replicas sharing a store
each set their own `OPSGRAPH_WORKFLOWS__EXECUTOR_ID` (a StatefulSet's pod name).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class QueueLimits(BaseModel):
    """How hard the workflows may write to one system: at most `concurrency` writes at once and
    `rate` writes per `period_s` seconds, across every process sharing the store."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    concurrency: int = Field(4, ge=1)
    rate: int = Field(20, ge=1)
    period_s: float = Field(1.0, gt=0)


class WorkflowSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="OPSGRAPH_WORKFLOWS__", env_nested_delimiter="__", extra="forbid"
    )

    database_url: str | None = None
    """SQLAlchemy URL of the store (`postgresql://user@host/db` or `sqlite:///path`); None: SQLite in
    `data_dir`."""
    data_dir: Path = Field(default_factory=lambda: Path(tempfile.gettempdir()) / "opsgraph")
    app_name: str = "opsgraph"
    app_version: str = "1"
    """DBOS recovers only the workflows of its own application version: every replica, and the
    process that restarts after a crash, must share it. Bump it only with a change that would break
    the replay of pending workflows (their steps' order), after they have drained."""
    executor_id: str | None = Field(
        None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
    )
    """This process's identity in the store. A workflow is owned by the executor that runs it, and a
    starting process recovers only the pending workflows of its own id, so replicas sharing a store
    need distinct ids that survive a restart (the pod name of a StatefulSet). None: DBOS's local
    default (`DBOS__VMID`, else `local`), right for one process."""
    admin_server: bool = False
    """DBOS 3.4 has no admin HTTP server; kept so a deployment that asks for one fails loudly."""
    poll_interval_s: float = Field(0.05, gt=0, le=5)
    """How often queue workers, result waits and messages poll the store (SQLite has no NOTIFY)."""
    wait_s: float = Field(10.0, ge=0)
    """How long `start` waits for a workflow to finish before answering it RUNNING (the workflow
    goes on). The gateway caps it at `WAIT_SHARE` of its `request_timeout_s`, so a mutation answers
    before its request times out."""
    park_check_s: float = Field(24 * 3600.0, gt=0)
    """How long a parked workflow sleeps between looks at its operator messages (it wakes at once on
    one): only bounds a wait, never ends the parking."""
    default_queue: QueueLimits = QueueLimits()
    queues: dict[str, QueueLimits] = Field(default_factory=dict)
    """Per configured system name (`erp`, `psa-emea`): its write queue's limits."""

    @model_validator(mode="after")
    def _no_admin(self) -> WorkflowSettings:
        if self.admin_server:
            raise ValueError("workflows.admin_server: this DBOS version has no admin server")
        return self

    def url(self) -> str:
        """The store's URL, the SQLite file's directory created when needed."""
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self.data_dir / 'workflows.sqlite'}"

    def limits(self, system: str) -> QueueLimits:
        return self.queues.get(system, self.default_queue)
