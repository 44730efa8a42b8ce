"""Security headers on every HTTP response (`web.edge` adds them).

API responses forbid everything a browser could do with them (no framing, no
sniffing, no scripts). A response that sets its own Content-Security-Policy keeps it: the
GraphiQL page (development only, `web.graphiql`) allows its own origin's scripts and
styles. Every other response, HTML included, gets the API's `default-src 'none'`.
"""

from __future__ import annotations

COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
DEFAULT_CSP = {"content-security-policy": "default-src 'none'; frame-ancestors 'none'"}
PRODUCTION = {"strict-transport-security": "max-age=31536000; includeSubDomains"}


def security_headers(*, production: bool) -> list[tuple[bytes, bytes]]:
    """The headers, raw, in the order they are added."""
    chosen = {**COMMON, **DEFAULT_CSP, **(PRODUCTION if production else {})}
    return [(name.encode(), value.encode("latin-1")) for name, value in chosen.items()]


def add_missing(raw: list[tuple[bytes, bytes]], defaults: list[tuple[bytes, bytes]]) -> None:
    """Appends each default header the response does not set itself."""
    present = {name.lower() for name, _ in raw}
    raw.extend(header for header in defaults if header[0] not in present)
