"""The gateway's settings carry the workflow engine's (`OPSGRAPH_WORKFLOWS__*`), the demo keeps its
workflow store in a temporary directory unless one is configured, and a mutation's wait is capped
below the request's deadline."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsgraph.gateway.app import WAIT_SHARE, workflow_settings
from opsgraph.gateway.demo import demo_workflow_store
from opsgraph.gateway.settings import load_settings


def test_the_gateway_reads_the_workflow_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSGRAPH_WORKFLOWS__DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/opsgraph")
    monkeypatch.setenv("OPSGRAPH_WORKFLOWS__QUEUES", '{"erp-eu": {"concurrency": 2}}')

    settings = load_settings(require_sources=False)

    assert settings.workflows.url() == "postgresql://postgres@127.0.0.1:5432/opsgraph"
    assert settings.workflows.limits("erp-eu").concurrency == 2


def test_a_mutation_waits_less_than_the_request_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPSGRAPH_WORKFLOWS__WAIT_S", raising=False)
    settings = load_settings(require_sources=False, request_timeout_s=5, workflows={"wait_s": 30})

    assert workflow_settings(settings).wait_s == 5 * WAIT_SHARE
    relaxed = load_settings(require_sources=False, request_timeout_s=60, workflows={"wait_s": 3})
    assert workflow_settings(relaxed).wait_s == 3


def test_the_demo_store_is_a_temporary_sqlite_file_unless_configured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("OPSGRAPH_WORKFLOWS__DATABASE_URL", raising=False)
    monkeypatch.delenv("OPSGRAPH_WORKFLOWS__DATA_DIR", raising=False)
    settings = load_settings(require_sources=False)

    with demo_workflow_store(settings) as demo:
        url = demo.workflows.url()
        folder = Path(url.removeprefix("sqlite:///")).parent
        assert url.startswith("sqlite:///") and folder.is_dir() and folder.name.startswith("opsgraph-demo-")
    assert not folder.exists()

    configured = load_settings(require_sources=False, workflows={"data_dir": str(tmp_path)})
    with demo_workflow_store(configured) as kept:
        assert kept.workflows.url() == f"sqlite:///{tmp_path / 'workflows.sqlite'}"
