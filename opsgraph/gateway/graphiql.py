"""GraphiQL served from self-hosted assets: no CDN, works with zero internet.

The page loads React 18, GraphiQL 3 and the explorer plugin from the vendored UMD bundles in
`static/graphiql/` (versions and checksums in `static/graphiql/VERSIONS.txt`). Mount `static_mount()`
next to the route that returns `graphiql_html()`.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

__all__ = ["ASSET_DIR", "ASSET_PREFIX", "SCRIPTS", "STYLESHEETS", "graphiql_html", "static_mount"]

ASSET_PREFIX = "/static/graphiql"
ASSET_DIR = Path(__file__).resolve().parent / "static" / "graphiql"

# Load order matters: React, then ReactDOM, then GraphiQL (reads window.React/ReactDOM), then the
# explorer plugin (reads window.GraphiQL.React and window.GraphiQL.GraphQL).
STYLESHEETS: tuple[str, ...] = ("graphiql.min.css", "plugin-explorer.css")
SCRIPTS: tuple[str, ...] = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "plugin-explorer.umd.js",
)

_TITLE = "opsgraph \u00b7 GraphiQL"

# Kept free of any scheme-qualified URL: the websocket URL is built from `location` at runtime.
_BOOT_JS = """
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("opsgraph-graphiql-config").textContent);
  var fetcherOptions = { url: config.endpoint };
  if (config.subscriptionEndpoint) {
    var wsScheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    fetcherOptions.subscriptionUrl = wsScheme + "//" + window.location.host + config.subscriptionEndpoint;
  }
  var plugins = [];
  if (typeof window.GraphiQLPluginExplorer !== "undefined") {
    plugins.push(window.GraphiQLPluginExplorer.explorerPlugin());
  }
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: GraphiQL.createFetcher(fetcherOptions),
      plugins: plugins,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false
    })
  );
})();
"""


def _check_path(name: str, value: str) -> str:
    """Only root-relative paths: anything else could point the page at another host."""
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        raise ValueError(f"{name} must be a root-relative path such as '/graphql', got {value!r}")
    return value


def _json_for_script(data: object) -> str:
    """JSON safe to embed in a <script> element (cannot close the element or open a comment)."""
    text = json.dumps(data, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def graphiql_html(
    endpoint: str = "/graphql",
    subscription_endpoint: str | None = "/graphql",
    asset_prefix: str = ASSET_PREFIX,
) -> str:
    """The GraphiQL page, loading only the local assets under `asset_prefix`.

    `endpoint` is where queries are POSTed (plain fetch, no extra headers); `subscription_endpoint`,
    when set, is reached over ws:// or wss:// on the page's own host. All three must be
    root-relative paths.
    """
    _check_path("endpoint", endpoint)
    if subscription_endpoint is not None:
        _check_path("subscription_endpoint", subscription_endpoint)
    prefix = _check_path("asset_prefix", asset_prefix).rstrip("/")

    def asset(name: str) -> str:
        return html.escape(f"{prefix}/{name}", quote=True)

    links = "\n".join(f'    <link rel="stylesheet" href="{asset(name)}" />' for name in STYLESHEETS)
    scripts = "\n".join(f'    <script src="{asset(name)}"></script>' for name in SCRIPTS)
    config = _json_for_script({"endpoint": endpoint, "subscriptionEndpoint": subscription_endpoint})
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="robots" content="noindex" />
    <title>{html.escape(_TITLE)}</title>
    <style>
      html, body {{ height: 100%; margin: 0; overflow: hidden; width: 100%; }}
      #graphiql {{ height: 100vh; }}
    </style>
{links}
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL&hellip;</div>
    <noscript>GraphiQL needs JavaScript.</noscript>
{scripts}
    <script id="opsgraph-graphiql-config" type="application/json">{config}</script>
    <script>{_BOOT_JS}</script>
  </body>
</html>
"""


def static_mount() -> Mount:
    """`StaticFiles` for the vendored GraphiQL assets, mounted at `ASSET_PREFIX`."""
    return Mount(ASSET_PREFIX, app=StaticFiles(directory=ASSET_DIR), name="graphiql-static")
