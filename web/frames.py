"""One WebSocket connection's outgoing frames: queued without waiting, written in order
by one task, and bounded, so a client that stops reading is cut off (close code 1013)
instead of holding up whoever queues frames for it."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from starlette.websockets import WebSocket

from logs import get_logger
from resolvers.subscriptions import TOO_SLOW_CLOSE_CODE
from telemetry import metrics

log = get_logger(__name__)


class FrameWriter:
    """`limit()` is asked at each frame: how many frames may wait (it can grow with the
    number of subscriptions the connection holds)."""

    __slots__ = ("_frames", "_limit", "_task", "cut_off", "websocket")

    def __init__(self, websocket: WebSocket, limit: Callable[[], int]) -> None:
        self.websocket = websocket
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
            while self._frames:
                await self.websocket.send_text(self._frames.popleft())
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
