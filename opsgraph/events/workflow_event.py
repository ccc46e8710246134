"""`workflowChanged` as it travels on the bus: which workflow, and the status it moved to. Subscribers
read the rest (steps, error, note) from the workflow store, which every replica shares."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class WorkflowChanged:
    workflow_id: str
    status: str
    at: datetime

    @property
    def key(self) -> str:
        """A subscriber's mailbox keeps the latest of each workflow."""
        return f"workflow:{self.workflow_id}"

    def to_json(self) -> str:
        return json.dumps({"id": self.workflow_id, "status": self.status, "at": self.at.isoformat()})

    @classmethod
    def from_json(cls, text: str | bytes) -> WorkflowChanged:
        raw = json.loads(text)
        return cls(str(raw["id"]), str(raw["status"]), datetime.fromisoformat(raw["at"]))
