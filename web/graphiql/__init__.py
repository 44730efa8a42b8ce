"""GraphiQL, served by the app itself in development, with nothing from another origin.

The page answers GET /graphql with Accept: text/html (`web.graphql_http`; production answers
404). Its scripts and stylesheets are vendored in `assets/` at pinned versions (`VENDORED`;
`assets/NOTICE` lists the files and their licences) and served under
`ASSETS_PATH/<digest>/<name>`, the digest being a hash of the file's content: a changed file
gets a new URL, so each one is cached for a year as immutable. The page runs no inline
script (its start-up code is `assets/agora-graphiql.js`), so its Content-Security-Policy
allows scripts, styles, fonts, images and connections from its own origin only.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from dataclasses import dataclass
from functools import cache, cached_property
from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

ASSETS_DIR = Path(__file__).parent / "assets"
# Where app.py mounts `asset_routes`: next to /graphql, so the page's relative asset URLs
# resolve under any root path.
ASSETS_PATH = "/graphiql"
IMMUTABLE = "public, max-age=31536000, immutable"

# The npm packages vendored in assets/ (copied unmodified; see assets/NOTICE).
VENDORED = {
    "react": "18.2.0",
    "react-dom": "18.2.0",
    "graphiql": "3.8.3",
    "@graphiql/plugin-explorer": "1.0.2",
}
# In the order the page loads them.
STYLESHEETS = ("graphiql.min.css", "graphiql-plugin-explorer.css", "agora-graphiql.css")
SCRIPTS = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",  # includes the graphql-ws client that subscriptions use
    "graphiql-plugin-explorer.umd.js",
    "agora-graphiql.js",
)
MEDIA_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        # GraphiQL's dialogs and menus (Radix UI's scroll lock) add <style> elements.
        "style-src 'self' 'unsafe-inline'",
        # HTTP and, in CSP level 3, ws:/wss: to the same host and port.
        "connect-src 'self'",
        # GraphiQL's fonts are data: URLs inside graphiql.min.css.
        "font-src 'self' data:",
        "img-src 'self' data:",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ]
)


@dataclass(frozen=True)
class Asset:
    name: str
    body: bytes

    @cached_property
    def digest(self) -> str:
        """In the asset's URL: changes whenever the file does."""
        return hashlib.sha256(self.body).hexdigest()[:16]

    @cached_property
    def integrity(self) -> str:
        return "sha384-" + base64.b64encode(hashlib.sha384(self.body).digest()).decode()

    @cached_property
    def gzipped(self) -> bytes:
        return gzip.compress(self.body, compresslevel=6, mtime=0)

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[Path(self.name).suffix]

    @property
    def url(self) -> str:
        """Relative to the page (/graphql): ASSETS_PATH/<digest>/<name>."""
        return f"{ASSETS_PATH.lstrip('/')}/{self.digest}/{self.name}"


@cache
def assets() -> dict[str, Asset]:
    """The page's assets by file name, read once."""
    return {
        name: Asset(name, (ASSETS_DIR / name).read_bytes()) for name in (*STYLESHEETS, *SCRIPTS)
    }


@cache
def page_html() -> str:
    found = assets()
    styles = "".join(
        f'    <link rel="stylesheet" href="{escape(found[name].url)}"'
        f' integrity="{found[name].integrity}">\n'
        for name in STYLESHEETS
    )
    scripts = "".join(
        f'    <script defer src="{escape(found[name].url)}"'
        f' integrity="{found[name].integrity}"></script>\n'
        for name in SCRIPTS
    )
    return (
        "<!doctype html>\n"
        '<html lang="en">\n'
        "  <head>\n"
        '    <meta charset="utf-8">\n'
        '    <meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "    <title>Agora GraphiQL</title>\n"
        '    <link rel="icon" href="data:,">\n'
        f"{styles}{scripts}"
        "  </head>\n"
        "  <body>\n"
        '    <div id="graphiql">Loading…</div>\n'
        "  </body>\n"
        "</html>\n"
    )


def graphiql_page() -> Response:
    """The GraphiQL page (development only: the caller answers 404 in production)."""
    return HTMLResponse(
        page_html(),
        headers={
            "content-security-policy": CONTENT_SECURITY_POLICY,
            # Its asset URLs change with the assets: always ask for the current page.
            "cache-control": "no-cache",
        },
    )


def _accepts_gzip(accept_encoding: str) -> bool:
    for part in accept_encoding.split(","):
        coding, *params = (p.strip() for p in part.split(";"))
        if coding.lower() not in {"gzip", "*"}:
            continue
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


def serve_asset(request: Request) -> Response:
    """A vendored file, when both its name and its current digest are in the URL.

    Sync (Starlette runs it in a thread): the first gzip of graphiql.min.js takes ~0.2 s.
    Names are looked up in the asset table, never joined to a file system path.
    """
    asset = assets().get(request.path_params["name"])
    if asset is None or request.path_params["digest"] != asset.digest:
        return Response(status_code=404, headers={"cache-control": "no-store"})
    headers = {"cache-control": IMMUTABLE, "vary": "accept-encoding"}
    body = asset.body
    if _accepts_gzip(request.headers.get("accept-encoding", "")):
        body = asset.gzipped
        headers["content-encoding"] = "gzip"
    return Response(body, media_type=asset.media_type, headers=headers)


def asset_routes(*, production: bool) -> list[BaseRoute]:
    """The routes app.py mounts at ASSETS_PATH: none in production, which has no GraphiQL."""
    if production:
        return []
    return [Route("/{digest}/{name}", serve_asset, methods=["GET"])]
