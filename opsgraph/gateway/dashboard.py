"""`/dashboard`: the executives' page. Invoice readiness by client and engagement (ready amount,
blockers), approved unbilled hours and parked workflows, updated live over SSE (graphql-sse, distinct
connections) from the same subscriptions as any client (`invoiceReadinessChanged`, `workflowChanged`).

Like GraphiQL's, its assets are ours and served from this gateway (`static/dashboard/`: one script, one
stylesheet, no build step, no other host), and the page itself holds no data: it is open, and its
requests to `/graphql` authenticate as any other (in the demo, anonymous callers are `viewer`; an API
key stored in the browser's `sessionStorage` under `opsgraph-api-key` goes as `X-API-Key`).
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

__all__ = ["DASHBOARD_ASSETS", "DASHBOARD_PATH", "dashboard_html", "dashboard_routes"]

DASHBOARD_PATH = "/dashboard"
DASHBOARD_ASSETS = "/static/dashboard"
ASSET_DIR = Path(__file__).resolve().parent / "static" / "dashboard"


def dashboard_html() -> str:
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="robots" content="noindex" />
    <title>opsgraph \u00b7 invoice readiness</title>
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="{DASHBOARD_ASSETS}/dashboard.css" />
  </head>
  <body data-endpoint="/graphql">
    <header>
      <h1>Invoice readiness</h1>
      <span id="status" class="status">connecting</span>
    </header>
    <section class="totals">
      <div><span class="label">Ready to invoice</span><span id="ready-total">&ndash;</span></div>
      <div><span class="label">Approved unbilled hours</span><span id="hours-total">&ndash;</span></div>
      <div><span class="label">Engagements blocked</span><span id="blocked-count">&ndash;</span></div>
      <div><span class="label">Parked workflows</span><span id="parked-count">&ndash;</span></div>
    </section>
    <p id="errors" class="errors" hidden></p>
    <table id="readiness">
      <thead>
        <tr><th>Client</th><th>Engagement</th><th>Ready</th><th class="num">Amount</th>
          <th class="num">Approved unbilled hours</th><th>Blockers</th></tr>
      </thead>
      <tbody></tbody>
    </table>
    <h2>Parked workflows</h2>
    <table id="parked">
      <thead><tr><th>Workflow</th><th>Kind</th><th>Failing step</th><th>Started</th></tr></thead>
      <tbody></tbody>
    </table>
    <script src="{DASHBOARD_ASSETS}/dashboard.js"></script>
  </body>
</html>
"""


def dashboard_routes() -> list[BaseRoute]:
    page = dashboard_html()

    async def dashboard(request: Request) -> HTMLResponse:
        return HTMLResponse(page)

    return [
        Route(DASHBOARD_PATH, dashboard, methods=["GET"], name="dashboard"),
        Mount(DASHBOARD_ASSETS, app=StaticFiles(directory=ASSET_DIR), name="dashboard-static"),
    ]
