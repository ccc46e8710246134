"""The committed SDL is the schema the code builds: regenerate with `make schema`."""

from __future__ import annotations

from pathlib import Path

from opsgraph.schema import schema_sdl

SDL = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_committed_sdl_matches_the_code() -> None:
    assert SDL.read_text() == schema_sdl(), "schema.graphql is stale: run `make schema` and commit it"


def test_sdl_has_the_contract_names() -> None:
    sdl = schema_sdl()
    for name in (
        "interface Node",
        "type Query",
        "type Client implements Node",
        "type Engagement implements Node",
        "type Resource implements Node",
        "type TimeEntry implements Node",
        "type Invoice implements Node",
        "type InvoiceReadiness",
        "type Forecast",
        "type ForecastPeriod",
        "type Money",
        "nodes(ids: [ID!]!): [Node]!",
        "sources: [SourceStatus!]!",
    ):
        assert name in sdl, name
