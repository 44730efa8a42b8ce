"""Request bodies are read whole before anything parses them (`web.edge` does it for
POST, PUT and PATCH): bigger than the limit is 413, slower than the time limit is 408
(the connection is then closed), so neither a huge nor a trickled body can hold the
server's memory or a connection for long."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from starlette.types import Message, Receive, Scope, Send

from web.time_limits import time_limit

METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str


def too_large(max_bytes: int) -> Refusal:
    return Refusal(413, f"request body larger than {max_bytes} bytes")


def declared_too_large(content_length: bytes | None, max_bytes: int) -> bool:
    return content_length is not None and (
        not content_length.isdigit() or int(content_length) > max_bytes
    )


async def read_body(
    receive: Receive, max_bytes: int, timeout_seconds: float
) -> bytes | Refusal | None:
    """The whole body, or why it is refused; None when the client left first."""
    chunks: list[bytes] = []
    size = 0
    try:
        async with time_limit(timeout_seconds):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return None
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > max_bytes:
                    return too_large(max_bytes)
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
    except TimeoutError:
        return Refusal(408, f"request body not received within {timeout_seconds:g} s")


# Where the edge leaves the body it has read, for the app to take as it is: reading it
# again through `receive` (Starlette's request stream) cost a few microseconds.
BODY_READ = "agora.body"


def body_read(scope: Scope) -> bytes | None:
    """The body the edge has read for this request; None when it read none."""
    return scope.get(BODY_READ)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body already read, then passes on to `receive`."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def refuse(send: Send, refusal: Refusal) -> None:
    code = "PAYLOAD_TOO_LARGE" if refusal.status == 413 else "REQUEST_TIMEOUT"
    payload = orjson.dumps({"errors": [{"message": refusal.message, "extensions": {"code": code}}]})
    await send(
        {
            "type": "http.response.start",
            "status": refusal.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
