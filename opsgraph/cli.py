"""The `opsgraph` command: `serve [--demo]`, `simulate`, `export-schema`."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, NoReturn

import click

from opsgraph.gateway.settings import ConfigError, Settings, load_settings

__all__ = ["STACKS", "cli", "main"]

STACKS = ("classic", "hubspot", "global", "workday")
"""The simulator stacks `--demo` and `simulate` can run (`simulators/simkit/stacks.py` defines them;
named here so that `opsgraph --help` loads no simulator): `classic` is Salesforce, Harvest, BambooHR
and NetSuite; `hubspot` has HubSpot as the CRM instead; `global` splits the PSA by region: Harvest for
AMER, Kantata for EMEA and APAC; `workday` has Workday as the HR system."""

_stack_option = click.option(
    "--stack",
    type=click.Choice(STACKS),
    default=STACKS[0],
    show_default=True,
    help="Which simulators play each role (serve: with --demo): classic (Salesforce CRM), hubspot, "
    "global (Harvest for AMER, Kantata for EMEA and APAC) or workday (Workday HR).",
)


def _config_error(exc: ConfigError) -> NoReturn:
    for problem in exc.problems:
        click.echo(f"config error: {problem}", err=True)
    sys.exit(2)


def _configure_logging(settings: Settings) -> None:
    from opsgraph.telemetry import configure_logging

    configure_logging(settings.log_level, settings.telemetry.log_format)


def _run(coro: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop's event loop (10-19 % more throughput than asyncio's own, issue 12)."""
    import uvloop

    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(coro)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """One GraphQL graph over a consulting firm's CRM, PSA, HR and ERP."""


@cli.command()
@click.option("--demo", is_flag=True, help="Start the stack's simulators here and serve over them.")
@_stack_option
@click.option("--host", default=None, help="Interface to listen on (default: settings, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: settings, 8000).")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML settings file (default: $OPSGRAPH_CONFIG_FILE). Environment variables win over it.",
)
@click.option(
    "--sim-base-port",
    type=int,
    default=8101,
    show_default=True,
    help="With --demo: the CRM simulator's port; PSA +1, HR +2, ERP +3 (0: any free).",
)
@click.option(
    "--federation",
    is_flag=True,
    help="Serve the graph as an Apollo Federation 2 subgraph (_service, _entities, @key) for a router.",
)
def serve(
    demo: bool,
    stack: str,
    host: str | None,
    port: int | None,
    config_file: str | None,
    sim_base_port: int,
    federation: bool,
) -> None:
    """Serve the graph at http://HOST:PORT/graphql (GraphiQL in a browser)."""
    from opsgraph.gateway.app import create_app
    from opsgraph.gateway.demo import run_demo, serve_app

    given = {"host": host, "port": port, "federation": federation or None}  # unset: the settings decide
    overrides: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    try:
        if demo:
            settings = load_settings(config_file, require_sources=False, **overrides)
            _configure_logging(settings)
            _run(
                run_demo(
                    config_file=config_file,
                    sim_base_port=sim_base_port,
                    stack=stack,
                    announce=click.echo,
                    **overrides,
                )
            )
            return
        settings = load_settings(config_file, **overrides)
        app = create_app(settings)
    except ConfigError as exc:
        _config_error(exc)
    _configure_logging(settings)
    if settings.auth.closed:
        click.echo(
            "opsgraph: no [auth] issuer, API keys or anonymous role: every /graphql request gets a 401",
            err=True,
        )
    click.echo(f"opsgraph: GraphiQL at http://{settings.host}:{settings.port}/graphql")
    _run(serve_app(app, settings))


@cli.command()
@click.option("--profile", type=click.Choice(["small", "large"]), default="small", show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--base-port", type=int, default=8101, show_default=True, help="The CRM's; PSA +1, HR +2, ERP +3"
)
@_stack_option
def simulate(profile: str, seed: int, host: str, base_port: int, stack: str) -> None:
    """Run the stack's simulators only, until Ctrl-C."""
    from opsgraph.gateway.demo import run_simulators

    _run(
        run_simulators(
            profile=profile, seed=seed, host=host, base_port=base_port, stack=stack, announce=click.echo
        )
    )


@cli.command("api-key")
@click.option("--hash-only", is_flag=True, help="Hash a key read from standard input instead of making one.")
def api_key(hash_only: bool) -> None:
    """Make an API key and print it with the hash that goes in settings ([auth.api_keys.<name>] hash)."""
    from opsgraph.auth import hash_api_key, new_api_key

    if hash_only:
        click.echo(hash_api_key(sys.stdin.readline().strip()))
        return
    key = new_api_key()
    click.echo(f"key:  {key}")
    click.echo(f"hash: {hash_api_key(key)}")


@cli.command("export-schema")
@click.option("--federation", is_flag=True, help="The Federation 2 subgraph's SDL (what a router composes).")
def export_schema(federation: bool) -> None:
    """Print the schema's SDL (what `schema.graphql` holds)."""
    from opsgraph.schema import schema_sdl

    click.echo(schema_sdl(federation=federation), nl=False)


def main() -> None:
    cli(prog_name="opsgraph")


if __name__ == "__main__":
    main()
