"""/healthz (the process is alive) and /readyz (every datastore answers)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse

from datasources.stores import Datastores

CHECK_TIMEOUT_SECONDS = 2.0


async def healthz(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def _check(ping: Callable[[], Awaitable[None]]) -> str:
    try:
        await asyncio.wait_for(ping(), CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return "unavailable: timed out"
    except Exception as error:
        return f"unavailable: {type(error).__name__}"
    return "ok"


async def readyz(request: Request) -> JSONResponse:
    stores: Datastores = request.app.state.stores
    names = ("relational", "documents", "events")
    results = await asyncio.gather(
        _check(stores.relational.ping), _check(stores.documents.ping), _check(stores.events.ping)
    )
    checks = dict(zip(names, results, strict=True))
    failing = [name for name, result in checks.items() if result != "ok"]
    body: dict[str, object] = {
        "status": "ready" if not failing else "unavailable",
        "checks": checks,
    }
    if failing:
        body["failing"] = failing
    return JSONResponse(body, status_code=503 if failing else 200)
