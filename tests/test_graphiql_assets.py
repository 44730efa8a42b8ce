"""GraphiQL's page and vendored assets over HTTP, in process (the browser test is
tests/test_graphiql_browser.py): the page's CSP, the assets' URLs, caching headers and
content types, 404s for anything else, and no GraphiQL in production."""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from app import create_app
from support.apps import backend_settings
from web.edge import Edge
from web.graphiql import ASSETS_DIR, SCRIPTS, STYLESHEETS, VENDORED

HTML = {"accept": "text/html"}
IMMUTABLE = "public, max-age=31536000, immutable"
# Every src= and href= of the page, with its integrity when it has one.
LINK = re.compile(r'(?:src|href)="([^"]*)"(?: integrity="([^"]*)")?')


@contextlib.asynccontextmanager
async def client_of(app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://agora.test") as client:
        yield client


@pytest.fixture(scope="module")
async def dev(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    """The development app, in process (these routes need no datastore)."""
    settings = backend_settings("embedded", tmp_path_factory.mktemp("graphiql-dev"), request)
    async with client_of(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
async def production(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    settings = backend_settings(
        "embedded",
        tmp_path_factory.mktemp("graphiql-prod"),
        request,
        app_env="production",
        jwt_secret="p" * 40,
    )
    async with client_of(create_app(settings)) as client:
        yield client


async def asset_urls(http: httpx.AsyncClient) -> dict[str, tuple[str, str]]:
    """The page's assets: file name -> (absolute path, integrity)."""
    page = await http.get("/graphql", headers=HTML)
    assert page.status_code == 200
    found = {}
    for url, integrity in LINK.findall(page.text):
        if url.startswith("data:"):
            continue
        path = str(page.url.join(url).path)
        found[path.rsplit("/", 1)[-1]] = (path, integrity)
    return found


async def test_page_allows_its_own_origin_only(dev: httpx.AsyncClient) -> None:
    page = await dev.get("/graphql", headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-cache"
    policy = dict(
        [*directive.split(" ", 1), ""][:2]
        for directive in page.headers["content-security-policy"].split("; ")
    )
    assert policy == {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": "'self' 'unsafe-inline'",
        "connect-src": "'self'",
        "font-src": "'self' data:",
        "img-src": "'self' data:",
        "frame-ancestors": "'none'",
        "base-uri": "'none'",
        "form-action": "'none'",
    }
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    # No inline script, nothing from elsewhere, no js-cookie.
    assert "<script>" not in page.text
    assert len(re.findall(r"<script ", page.text)) == len(SCRIPTS)
    assert "//" not in "".join(url for url, _ in LINK.findall(page.text))
    assert "cookie" not in page.text.lower()


async def test_assets_are_served_immutable_with_their_content_types(
    dev: httpx.AsyncClient,
) -> None:
    urls = await asset_urls(dev)
    assert sorted(urls) == sorted([*SCRIPTS, *STYLESHEETS])
    for name, (path, integrity) in urls.items():
        assert re.fullmatch(rf"/graphiql/[0-9a-f]{{16}}/{re.escape(name)}", path), path
        response = await dev.get(path, headers={"accept-encoding": "identity"})
        assert response.status_code == 200, path
        expected_type = "text/javascript" if name.endswith(".js") else "text/css"
        assert response.headers["content-type"] == f"{expected_type}; charset=utf-8"
        assert response.headers["cache-control"] == IMMUTABLE
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "content-encoding" not in response.headers
        body = (ASSETS_DIR / name).read_bytes()
        assert response.content == body
        # The URL names the content (a changed file gets a new URL) and so does the page.
        assert path.split("/")[2] == hashlib.sha256(body).hexdigest()[:16]
        assert integrity.startswith("sha384-")
        head = await dev.head(path)
        assert head.status_code == 200
        assert head.headers["cache-control"] == IMMUTABLE


async def test_assets_are_gzipped_for_clients_that_accept_it(dev: httpx.AsyncClient) -> None:
    path, _ = (await asset_urls(dev))["graphiql.min.js"]
    response = await dev.get(path, headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in response.headers["vary"]
    assert int(response.headers["content-length"]) < 1_000_000
    assert response.content == (ASSETS_DIR / "graphiql.min.js").read_bytes()  # decoded
    refused = await dev.get(path, headers={"accept-encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers


@pytest.mark.parametrize(
    "path",
    [
        "/graphiql/{digest}/unknown.js",
        "/graphiql/{digest}/NOTICE",
        "/graphiql/{digest}/__init__.py",
        "/graphiql/{digest}/LICENSES/react-18.2.0.txt",
        "/graphiql/{digest}/..%2F__init__.py",
        "/graphiql/{digest}/%2e%2e%2f%2e%2e%2fsettings.py",
        "/graphiql/{digest}/..%2Fassets%2Fgraphiql.min.js",
        "/graphiql/0000000000000000/graphiql.min.js",  # a digest that is not the file's
        "/graphiql/{other_digest}/graphiql.min.js",  # another file's digest
        "/graphiql/graphiql.min.js",
        "/graphiql/",
        "/graphiql",
    ],
)
async def test_anything_else_is_404(dev: httpx.AsyncClient, path: str) -> None:
    urls = await asset_urls(dev)
    digest = urls["graphiql.min.js"][0].split("/")[2]
    other_digest = urls["react.production.min.js"][0].split("/")[2]
    response = await dev.get(
        path.format(digest=digest, other_digest=other_digest), follow_redirects=True
    )
    assert response.status_code == 404
    assert (
        "cache-control" not in response.headers
        or "immutable" not in (response.headers["cache-control"])
    )


async def test_no_graphiql_in_production(
    dev: httpx.AsyncClient, production: httpx.AsyncClient
) -> None:
    """Neither the page nor its assets: production answers 404 for both."""
    page = await production.get("/graphql", headers=HTML)
    assert page.status_code == 404
    for path, _ in (await asset_urls(dev)).values():
        assert (await production.get(path)).status_code == 404
    # The API itself is there.
    api = await production.post("/graphql", json={"query": "{ __typename }"})
    assert api.status_code != 404


def test_vendored_packages_and_licences_are_listed() -> None:
    notice = (ASSETS_DIR / "NOTICE").read_text()
    for package, version in VENDORED.items():
        assert re.search(rf"{re.escape(package)}\b.*\b{re.escape(version)}\b", notice), package
        licence = ASSETS_DIR / "LICENSES" / f"{package.lstrip('@').replace('/', '-')}-{version}.txt"
        assert "MIT License" in licence.read_text(), licence
        assert licence.name in notice
    for name in (*SCRIPTS, *STYLESHEETS):
        assert name in notice


async def test_html_without_its_own_policy_gets_the_api_policy() -> None:
    async def plain(_: object) -> HTMLResponse:
        return HTMLResponse("<p>hello</p>")

    async def own(_: object) -> HTMLResponse:
        return HTMLResponse("<p>page</p>", headers={"content-security-policy": "script-src 'self'"})

    app = Starlette(routes=[Route("/plain", plain), Route("/own", own)])
    async with client_of(Edge(app, production=False)) as http:
        strict = await http.get("/plain")
        assert (
            strict.headers["content-security-policy"]
            == "default-src 'none'; frame-ancestors 'none'"
        )
        kept = await http.get("/own")
        assert kept.headers["content-security-policy"] == "script-src 'self'"


def test_asset_directory_has_only_listed_files() -> None:
    """Everything vendored is accounted for in NOTICE (no stray copies of other versions)."""
    notice = (ASSETS_DIR / "NOTICE").read_text()
    for path in ASSETS_DIR.iterdir():
        if path.is_file():
            assert path.name in notice or path.name == "NOTICE", path.name
    assert Path(ASSETS_DIR / "LICENSES").is_dir()
