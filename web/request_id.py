"""A request id for every HTTP request and WebSocket connection.

A sane incoming `X-Request-ID` is kept (so ids follow a request across
services); otherwise one is made. It is bound to the log context and returned
in the `X-Request-ID` response header (`web.edge` does both).
"""

from __future__ import annotations

import os
import re
import uuid
from contextvars import ContextVar

import structlog

HEADER = "x-request-id"
RAW_HEADER = HEADER.encode()
_SAFE = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
_request_id: ContextVar[str] = ContextVar("request_id", default="")


def current_request_id() -> str:
    return _request_id.get() or uuid.uuid4().hex


def request_id_for(incoming: bytes) -> str:
    """The id of a request that came with `incoming` as its X-Request-ID (b"" if none)."""
    text = incoming.decode("latin-1")
    return text if _SAFE.fullmatch(text) else os.urandom(16).hex()


class bound:
    """`with bound(request_id):` the request's id, current (for errors) and in every log
    line, while the block runs. A class rather than a generator: it is entered once a
    request."""

    __slots__ = ("_request_id", "_token")

    def __init__(self, request_id: str) -> None:
        self._request_id = request_id

    def __enter__(self) -> None:
        self._token = _request_id.set(self._request_id)
        structlog.contextvars.bind_contextvars(request_id=self._request_id)

    def __exit__(self, *_: object) -> None:
        structlog.contextvars.unbind_contextvars("request_id")
        _request_id.reset(self._token)
