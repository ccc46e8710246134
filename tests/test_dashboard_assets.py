"""The dashboard is served from its own assets only: no scheme-qualified or protocol-relative URL in the
page or its script and stylesheet, every reference a local asset that is served, open without credentials
(the page holds no data), with the page CSP (scripts from this origin only)."""

from __future__ import annotations

import re

from starlette.testclient import TestClient
from test_gateway_support import settings_for

from opsgraph.gateway.app import create_app
from opsgraph.gateway.dashboard import ASSET_DIR, DASHBOARD_ASSETS, dashboard_html
from simulators.simkit.serve import SimulatorGroup
from simulators.world import World

_REF = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


def test_no_other_host_anywhere() -> None:
    for text in (dashboard_html(), *(p.read_text() for p in ASSET_DIR.iterdir())):
        lowered = text.lower()
        assert "http://" not in lowered and "https://" not in lowered
        assert not re.search(r"""(?:src|href)\s*=\s*["']?//""", lowered)
        assert "url(" not in lowered.replace(" ", "").replace("url(data:", "")
        assert "<script>" not in lowered  # no inline script: the CSP allows this origin's files only


def test_the_page_and_its_assets_are_served_open(simulators: SimulatorGroup, world: World) -> None:
    settings = settings_for(simulators, world, auth={"anonymous_role": None})  # no anonymous access
    with TestClient(create_app(settings)) as client:
        page = client.get("/dashboard")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        refs = [r for r in _REF.findall(page.text) if not r.startswith("data:")]
        assert sorted(refs) == [f"{DASHBOARD_ASSETS}/dashboard.css", f"{DASHBOARD_ASSETS}/dashboard.js"]
        for ref in refs:
            asset = client.get(ref)
            assert asset.status_code == 200 and len(asset.content) > 500, ref
        # the data is not open: a query without credentials is refused
        assert client.post("/graphql", json={"query": "{ invoiceReadiness { ready } }"}).status_code == 401
