"""The gateway's Starlette app: `/graphql`, the GraphiQL assets, `/healthz` and `/readyz`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.starlette import StarletteInstrumentor
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from strawberry.extensions import SchemaExtension
from strawberry.schema.base import BaseSchema

from opsgraph.auth import Authenticator
from opsgraph.auth.policy import PolicyError
from opsgraph.cache import ReadCache, create_backend
from opsgraph.cache.responses import ResponseCache
from opsgraph.clock import Clock, clock_for
from opsgraph.context import current_correlation_id
from opsgraph.events.service import EventService
from opsgraph.gateway.authn import AuthMiddleware
from opsgraph.gateway.authorization import authorization_extension
from opsgraph.gateway.cost_limit import cost_extension
from opsgraph.gateway.dashboard import DASHBOARD_ASSETS, DASHBOARD_PATH, dashboard_routes
from opsgraph.gateway.documents import document_cache_extensions
from opsgraph.gateway.door import ResponseCacheDoor
from opsgraph.gateway.execution import gateway_executor
from opsgraph.gateway.graphiql import graphiql_html, static_mount
from opsgraph.gateway.health import health_routes
from opsgraph.gateway.http import GatewayState, GraphQLView
from opsgraph.gateway.introspection import introspection_extension
from opsgraph.gateway.limits import limit_extensions
from opsgraph.gateway.middleware import CorrelationIdMiddleware
from opsgraph.gateway.operations import OperationNameRequired
from opsgraph.gateway.persisted import PersistedQueries, trusted_only_extension
from opsgraph.gateway.rate_limit import RateLimitMiddleware, buckets_for
from opsgraph.gateway.security_headers import SecurityHeaders, page_csp
from opsgraph.gateway.settings import ConfigError, Settings
from opsgraph.gateway.size_limits import RequestSizeLimits
from opsgraph.gateway.webhooks import WEBHOOK_PREFIX, webhook_routes
from opsgraph.resolvers.context import RequestContext
from opsgraph.resolvers.sources import Sources
from opsgraph.schema import build_schema
from opsgraph.telemetry import OperationSpan, configure_tracing
from opsgraph.telemetry.access import RequestLogMiddleware
from opsgraph.telemetry.business import BusinessMetricsJob
from opsgraph.telemetry.metrics import Metrics
from opsgraph.workflows import WorkflowEngine, WorkflowSettings
from opsgraph.workflows.kinds import KINDS
from opsgraph.workflows.records import WorkflowStatus

__all__ = [
    "cors_middleware",
    "cors_options",
    "create_app",
    "gateway_schema",
    "last_change_polls",
    "workflow_counts",
]

CORS_HEADERS = ["Authorization", "X-API-Key", "Content-Type", "Accept", "X-Correlation-ID"]


def cors_options(origins: list[str]) -> dict[str, Any]:
    """Browsers on `origins` may call `/graphql` (bearer tokens and API keys, never cookies)."""
    return {
        "allow_origins": origins,
        "allow_methods": ["GET", "POST"],
        "allow_headers": CORS_HEADERS,
        "expose_headers": ["X-Correlation-ID"],
        "max_age": 600,
    }


def cors_middleware(origins: list[str]) -> list[Middleware]:
    """The CORS layer for `origins` (`cors_options`); none without origins."""
    return [Middleware(CORSMiddleware, **cors_options(origins))] if origins else []


def gateway_schema(settings: Settings, clock: Clock | None = None, *, policy: bool = True) -> BaseSchema:
    """The graph with the query limits, the cost budgets, the response budgets (deadline, size), the
    parse and validation caches (bounded by bytes) and the authorization policy (`policy=False`:
    without it, for the bench's baseline) from `settings`."""
    caches = document_cache_extensions(settings.parse_cache_bytes, settings.parse_cache_max_document_bytes)
    executor = gateway_executor(
        clock or clock_for(settings.today),
        request_timeout_s=settings.request_timeout_s,
        max_response_bytes=settings.max_response_bytes,
    )
    return build_schema(
        extensions=[
            OperationSpan,
            *limit_extensions(settings),
            OperationNameRequired,
            introspection_extension(settings.introspection),
            *caches,
            *([policy_extension(settings)] if policy else []),  # after the validation cache: reads its result
            *cost_extension(settings.cost),
            *trusted_only_extension(settings.persisted_queries),
        ],
        execution_context_class=executor,
        federation=settings.federation,
    )


def policy_extension(settings: Settings) -> type[SchemaExtension]:
    """The authorization policy of `settings.auth.policy`, checked against the graph (a `ConfigError`
    naming the policy's bad keys)."""
    try:
        return authorization_extension(settings.auth.load_policy(), build_schema()._schema)
    except PolicyError as exc:
        raise ConfigError([f"auth.policy: {problem}" for problem in exc.problems]) from None


async def workflow_counts(engine: WorkflowEngine | None) -> dict[tuple[str, str], int]:
    """Workflows per (kind, status) in the store: every registered kind and status, zeros included."""
    if engine is None:
        return {}
    return {
        (kind, status.value): await engine.count([status], kind)
        for kind in sorted(KINDS)
        for status in WorkflowStatus
    }


def last_change_polls(sources: Sources | None) -> dict[str, float]:
    """Each system's last successful change poll in this process (systems never polled: absent)."""
    clients = sources.clients() if sources is not None else {}
    return {n: c.health.last_change_poll_at for n, c in clients.items() if c.health.last_change_poll_at}


WAIT_SHARE = 0.8
"""A mutation waits for its workflow at most this share of the request's deadline, then answers it
RUNNING (the workflow goes on): the answer arrives before the request times out."""


def workflow_settings(settings: Settings) -> WorkflowSettings:
    """`settings.workflows`, its wait capped at `WAIT_SHARE` of `request_timeout_s`."""
    wait_s = min(settings.workflows.wait_s, settings.request_timeout_s * WAIT_SHARE)
    return settings.workflows.model_copy(update={"wait_s": wait_s})


def create_app(
    settings: Settings,
    *,
    sources: Sources | None = None,
    schema: BaseSchema | None = None,
    clock: Clock | None = None,
) -> Starlette:
    """The app. Without `sources`, its lifespan builds them from `settings` and closes them at exit;
    it launches the workflow engine (`settings.workflows`) over them and shuts it down at exit.
    `clock` defaults to the one `settings.today` asks for; tests pass a `ManualClock`.

    Bad systems (a role missing, an unknown vendor, a vendor's bad settings, overlapping scopes)
    fail here (a `ConfigError`), before anything listens.
    """
    specs = settings.system_specs() if sources is None else None
    clock = clock or clock_for(settings.today)
    state = GatewayState(
        sources=sources,
        clock=clock,
        reporting_currency=settings.reporting_currency,
        row_rule=settings.auth.load_policy().rows,
    )
    authenticator = Authenticator(settings.auth, clock=clock)
    exporter = configure_tracing(settings.telemetry)  # OTLP when configured; see telemetry/tracing.py
    buckets = buckets_for(settings.rate_limit, settings.redis_url, clock)
    try:
        persisted = PersistedQueries.from_settings(
            settings.persisted_queries, lambda: state.cache.backend if state.cache else None
        )
    except ValueError as exc:
        raise ConfigError([f"persisted_queries.trusted_documents: {exc}"]) from None
    metrics = Metrics()  # this app's Prometheus series (telemetry/metrics.py)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned: Sources | None = None
        if specs is not None:
            owned = state.sources = Sources.from_specs(
                specs, clock=clock, probe_timeout_s=settings.ready_timeout_s
            )
        backend = create_backend(settings.redis_url)
        state.cache = ReadCache(backend, settings.cache, clock=clock, sink=metrics.cache_count)
        if settings.response_cache.enabled and settings.cache.enabled:
            state.responses = ResponseCache(
                backend,
                state.cache.tag_index,
                settings.response_cache,
                clock=clock,
                generation=lambda: state.cache.generation if state.cache is not None else -1,
                sink=metrics.response_cache_count,
            )
        sources = state.require_sources()
        for name, client in sources.clients().items():
            client.health.sink = metrics.upstream(name, client.role.value, client.vendor)
        engine = WorkflowEngine(workflow_settings(settings), sources, invalidate=state.cache.invalidate)
        state.events = EventService(
            settings.events,
            sources,
            state.cache,
            clock,
            redis_url=settings.redis_url,
            lag=lambda system, s: metrics.event_lag.labels(system).observe(s),
        )
        await state.events.start()
        engine.listeners.append(state.events.workflow_changed)  # workflowChanged
        interval = settings.telemetry.business_metrics_interval_s
        job_task = asyncio.create_task(business.run(interval)) if interval else None
        try:
            await engine.launch()  # pending workflows of this store resume now
            state.workflows = engine
            yield
        finally:
            state.workflows = None
            await engine.shutdown()
            if job_task is not None:
                job_task.cancel()
            await state.events.stop()
            state.events = None
            state.responses = None
            state.cache = None
            await backend.close()
            await authenticator.close()
            if buckets is not None:
                await buckets.close()
            if owned is not None:
                state.sources = None
                await owned.close()
            if exporter is not None:
                await asyncio.to_thread(exporter.shutdown)  # flushes what is queued, off the loop

    async def scrape(request: Request) -> Response:
        """This process's live gauges sampled, then the series as they stand (nothing computed)."""
        if state.events is not None:
            metrics.subscribers.set(state.events.bus.subscribers)
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    view = GraphQLView(
        schema or gateway_schema(settings, clock),
        state,
        graphiql=settings.graphiql,
        authenticator=authenticator,
        keep_alive_s=settings.events.keep_alive_s,
        persisted=persisted,
    )
    business = BusinessMetricsJob(
        view.schema,
        lambda: RequestContext.create(
            state.require_sources(),
            correlation_id=current_correlation_id(),
            clock=clock,
            cache=state.cache,
            reporting_currency=state.reporting_currency,
        ),
        clock,
        metrics,
        workflows=lambda: workflow_counts(state.workflows),
        polled=lambda: last_change_polls(state.sources),
    )
    routes: list[BaseRoute] = [
        Route("/graphql", view, name="graphql"),
        WebSocketRoute("/graphql", view, name="graphql-ws"),
        *health_routes(state),
        Route("/metrics", scrape, name="metrics"),
        *webhook_routes(state, base_url=settings.events.webhook_base_url),
        *dashboard_routes(),
    ]
    if settings.graphiql:
        routes.append(static_mount())
    middleware = [
        Middleware(SecurityHeaders, page_policy=page_csp(graphiql_html())),
        *cors_middleware(settings.cors_origins),
        Middleware(CorrelationIdMiddleware),
        Middleware(RequestLogMiddleware, metrics=metrics),
        Middleware(
            RequestSizeLimits,
            max_body_bytes=settings.max_body_bytes,
            max_header_bytes=settings.max_header_bytes,
        ),
        Middleware(
            AuthMiddleware,
            authenticator=authenticator,
            open_paths=settings.auth.open_paths,
            graphiql=settings.graphiql,
            # a webhook's signature is its credential; the dashboard's page and assets hold no data
            open_prefixes=(WEBHOOK_PREFIX, DASHBOARD_PATH, DASHBOARD_ASSETS + "/"),
        ),
    ]
    if buckets is not None:
        middleware.append(Middleware(RateLimitMiddleware, buckets=buckets))
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.gateway = state  # the sources, the read cache and the events (`events.poll_once()`)
    app.state.business = business  # the business metrics job (`refresh()`)
    # Tracing at the HTTP level here, and per loader batch and upstream call below; never per field.
    StarletteInstrumentor.instrument_app(app)
    for layer in app.user_middleware:  # one server span per request, not three more per receive/send
        if layer.cls is OpenTelemetryMiddleware:
            layer.kwargs["exclude_spans"] = ["receive", "send"]
    door = Middleware(
        ResponseCacheDoor,
        state=state,
        authenticator=authenticator,
        open_paths=settings.auth.open_paths,
        buckets=buckets,
        metrics=metrics,
        resolves=persisted.resolves,
        max_body_bytes=settings.max_body_bytes,
        max_header_bytes=settings.max_header_bytes,
        cors=_cors_layer(settings.cors_origins),
    )
    app.user_middleware.insert(0, door)  # outermost: response-cache hits go no further
    return app


def _cors_layer(origins: list[str]) -> CORSMiddleware | None:
    """A CORS layer for the door to decorate hits with (it wraps nothing)."""
    return CORSMiddleware(_nothing, **cors_options(origins)) if origins else None


async def _nothing(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("the door's CORS layer only decorates responses")
