"""One WebSocket connection's outgoing frames: queued without waiting, written in order
by one task, and bounded, so a client that stops reading is cut off (close code 1013)
instead of holding up whoever queues frames for it."""

from __future__ import annotations

import asyncio
import struct
from collections import deque
from collections.abc import Awaitable, Callable

from starlette.websockets import WebSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from logs import get_logger
from resolvers.subscriptions import TOO_SLOW_CLOSE_CODE
from telemetry import metrics
from web.server_send import SCOPE_KEY

log = get_logger(__name__)

# Writes every queued frame at once; False when the connection cannot take them.
WriteTogether = Callable[[deque[str]], Awaitable[bool]]


class FrameWriter:
    """`limit()` is asked at each frame: how many frames may wait (it can grow with the
    number of subscriptions the connection holds)."""

    __slots__ = ("_frames", "_limit", "_send", "_task", "_together", "cut_off", "websocket")

    def __init__(self, websocket: WebSocket, limit: Callable[[], int]) -> None:
        self.websocket = websocket
        self._send = websocket.scope.get(SCOPE_KEY) or websocket.send
        self._together = _writes_together(self._send)
        self._limit = limit
        self._frames: deque[str] = deque()
        self._task: asyncio.Task[None] | None = None
        self.cut_off = False

    def send(self, frame: str) -> None:
        if self.cut_off:
            return
        if len(self._frames) >= self._limit():
            self._fell_behind()
            return
        self._frames.append(frame)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        try:
            send, frames, together = self._send, self._frames, self._together
            while frames:
                if together is not None and await together(frames):
                    continue
                await send({"type": "websocket.send", "text": frames.popleft()})
        except Exception as error:  # the connection is gone: nobody is left to read them
            log.debug("frames not written", error=type(error).__name__)
            self._frames.clear()
        finally:
            self._task = None

    def _fell_behind(self) -> None:
        self.cut_off = True
        metrics.subscriber_cut_off(len(self._frames) + 1)  # its backlog, and this frame
        self._frames.clear()
        reason = "fell too far behind; reconnect and resume with `since`"
        self._task = asyncio.get_running_loop().create_task(self._close(reason))

    async def _close(self, reason: str) -> None:
        try:
            await self.websocket.close(code=TOO_SLOW_CLOSE_CODE, reason=reason)
        except Exception as error:  # already closing
            log.debug("closing a slow connection failed", error=type(error).__name__)

    def stop(self) -> None:
        self._frames.clear()
        if self._task is not None:
            self._task.cancel()


def _writes_together(send: Callable[..., Awaitable[None]]) -> WriteTogether | None:
    """With uvicorn's sans-I/O WebSocket protocol (its default, pinned in pyproject),
    the frames queued for a connection go out in one socket write instead of one write
    (one system call) each: most of the cost of a fan-out. Any other server: None."""
    protocol = getattr(send, "__self__", None)
    if not isinstance(protocol, WebSocketsSansIOProtocol):
        return None

    async def write(frames: deque[str]) -> bool:
        await protocol.writable.wait()  # the transport's flow control, as `send` does
        if protocol.disconnected or protocol.close_sent or protocol.initial_response:
            return False  # `send` says what is wrong
        connection = protocol.conn
        if connection.extensions:  # compression: websockets frames each message itself
            while frames:
                connection.send_text(frames.popleft().encode())
            protocol.transport.write(b"".join(connection.data_to_send()))
            return True
        chunks: list[bytes] = []
        while frames:
            payload = frames.popleft().encode()
            chunks.append(_text_frame_header(len(payload)))
            chunks.append(payload)
        protocol.transport.write(b"".join(chunks))
        return True

    return write


def _text_frame_header(length: int) -> bytes:
    """The header of one unfragmented, unmasked text frame (RFC 6455, 5.2): what a
    server sends when no extension is in use."""
    if length < 126:
        return bytes((0x81, length))
    if length < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, length)
    return struct.pack("!BBQ", 0x81, 127, length)
