"""Start-up failures said once: the lifespan logs a `StartupFailure` as one line (and
sets `app.state.startup_failure_logged`); this keeps uvicorn from logging Starlette's
traceback of the same failure after it."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class NoTracebackForLoggedStartupFailures:
    """uvicorn logs the traceback Starlette makes of a failed start-up; a StartupFailure
    is already one line in the log (the lifespan wrote it), so the traceback is dropped."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_without_traceback(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed" and getattr(
                scope["app"].state, "startup_failure_logged", False
            ):
                message = {"type": "lifespan.startup.failed", "message": ""}
            await send(message)

        await self.app(scope, receive, send_without_traceback)
