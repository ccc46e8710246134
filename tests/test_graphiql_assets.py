"""GraphiQL is served from vendored assets only: no CDN, no scheme-qualified URL, every asset present."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from opsgraph.gateway.graphiql import ASSET_DIR, ASSET_PREFIX, graphiql_html, static_mount

_REF = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
_MIN_JS_BYTES = 10 * 1024


def _refs(page: str) -> list[str]:
    return _REF.findall(page)


@pytest.fixture(scope="module")
def page() -> str:
    return graphiql_html()


def test_page_has_title_and_uses_create_fetcher(page: str) -> None:
    assert "<title>opsgraph \u00b7 GraphiQL</title>" in page
    assert "GraphiQL.createFetcher(" in page
    assert "subscriptionUrl" in page
    assert "X-Correlation-ID" not in page


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"subscription_endpoint": None}, {"endpoint": "/api/graphql", "asset_prefix": "/assets/giql/"}],
)
def test_no_remote_urls(kwargs: dict[str, Any]) -> None:
    page = graphiql_html(**kwargs)
    lowered = page.lower()
    assert "http://" not in lowered
    assert "https://" not in lowered
    assert not re.search(r"""(?:src|href)\s*=\s*["']?//""", lowered), "protocol-relative host reference"
    assert "url(//" not in lowered.replace(" ", "")


def test_rejects_non_root_relative_paths() -> None:
    for bad in ("//cdn.example/graphql", "graphql", "ws:" + "//host/graphql"):
        with pytest.raises(ValueError):
            graphiql_html(endpoint=bad)
    with pytest.raises(ValueError):
        graphiql_html(subscription_endpoint="//elsewhere/graphql")
    with pytest.raises(ValueError):
        graphiql_html(asset_prefix="//cdn.example/graphiql")


def test_every_reference_is_a_local_asset(page: str) -> None:
    refs = _refs(page)
    assert refs, "the page references no assets"
    kinds = set()
    for ref in refs:
        assert ref.startswith(ASSET_PREFIX + "/"), ref
        name = ref.removeprefix(ASSET_PREFIX + "/")
        assert name and "/" not in name and ".." not in name, ref
        path = ASSET_DIR / name
        assert path.is_file(), f"{ref} -> missing {path}"
        size = path.stat().st_size
        if name.endswith(".js"):
            kinds.add("js")
            assert size > _MIN_JS_BYTES, f"{name} is only {size} bytes"
        elif name.endswith(".css"):
            kinds.add("css")
            assert size > 0, f"{name} is empty"
        else:
            pytest.fail(f"unexpected asset type: {ref}")
    assert kinds == {"js", "css"}
    for bundle in ("graphiql.min.js", "graphiql.min.css", "react.production.min.js"):
        assert f"{ASSET_PREFIX}/{bundle}" in refs


def test_custom_prefix_is_used_for_every_reference() -> None:
    refs = _refs(graphiql_html(asset_prefix="/assets/giql/"))
    assert refs
    assert all(ref.startswith("/assets/giql/") and "//" not in ref for ref in refs)


def test_versions_file_lists_every_asset(page: str) -> None:
    versions = (ASSET_DIR / "VERSIONS.txt").read_text(encoding="utf-8")
    listed = {line.split("\t")[0] for line in versions.splitlines() if line and not line.startswith("#")}
    for ref in _refs(page):
        assert ref.removeprefix(ASSET_PREFIX + "/") in listed


def test_static_mount_serves_every_asset(page: str) -> None:
    app = Starlette(routes=[static_mount()])
    with TestClient(app) as client:
        for ref in _refs(page):
            response = client.get(ref)
            assert response.status_code == 200, ref
            content_type = response.headers["content-type"].split(";")[0].strip()
            if ref.endswith(".js"):
                assert content_type in ("text/javascript", "application/javascript"), (ref, content_type)
            else:
                assert content_type == "text/css", (ref, content_type)
            assert response.content == (ASSET_DIR / ref.rsplit("/", 1)[1]).read_bytes()
        assert client.get(ASSET_PREFIX + "/does-not-exist.js").status_code == 404
