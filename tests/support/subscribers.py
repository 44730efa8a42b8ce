"""Subscribers that record the events they receive, as they arrive: several subscriptions
over one gql (Python) WebSocket connection, or one through the npm graphql-ws client in a
Node.js process (tests/js/subscribe.mjs)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport

from support.node import JS_DIR

NODE_SCRIPT = JS_DIR / "subscribe.mjs"
EVENT_TIMEOUT = 10.0

Event = dict[str, Any]


class Stream:
    """The events of one subscription, as they arrive."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.events: list[Event] = []
        self.error: BaseException | None = None
        self._changed = asyncio.Event()

    def add(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    def fail(self, error: BaseException) -> None:
        if self.error is None:
            self.error = error
        self._changed.set()

    def check(self) -> None:
        if self.error is not None:
            raise AssertionError(f"{self.name} failed: {self.error!r}") from self.error

    async def wait_for(self, predicate: Callable[[list[Event]], bool], within: float) -> bool:
        """True once `predicate(events)` holds, False after `within` seconds."""
        try:
            async with asyncio.timeout(within):
                while True:
                    self.check()
                    if predicate(self.events):
                        return True
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            return False

    async def expect_count(self, count: int, within: float = EVENT_TIMEOUT) -> None:
        if not await self.wait_for(lambda events: len(events) >= count, within):
            raise AssertionError(
                f"{self.name}: {len(self.events)} of {count} events after {within}s: {self.events}"
            )


def transport(ws_url: str, token: str | None = None) -> WebsocketsTransport:
    """A graphql-transport-ws transport (gql) whose connection_init carries `token`."""
    return WebsocketsTransport(
        url=ws_url,
        init_payload={"authorization": f"Bearer {token}"} if token else {},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        connect_timeout=10,
        close_timeout=2,
    )


class GqlSubscriber:
    """Several subscriptions over one gql WebSocket connection (Python)."""

    def __init__(
        self,
        ws_url: str,
        subscriptions: dict[str, tuple[str, dict[str, Any]]],
        token: str | None = None,
    ) -> None:
        self.ws_url = ws_url
        self.token = token
        self.requests = {
            name: GraphQLRequest(query, variable_values=variables)
            for name, (query, variables) in subscriptions.items()
        }
        self.streams = {name: Stream(f"gql {name} @ {ws_url}") for name in subscriptions}
        self._task: asyncio.Task[None] | None = None

    def __getitem__(self, name: str) -> Stream:
        return self.streams[name]

    def start(self) -> GqlSubscriber:
        self._task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        try:
            async with Client(transport=transport(self.ws_url, self.token)) as session:
                await asyncio.gather(
                    *(
                        self._one(session, request, self.streams[name])
                        for name, request in self.requests.items()
                    )
                )
        except Exception as error:
            for stream in self.streams.values():
                stream.fail(error)

    @staticmethod
    async def _one(session: Any, request: GraphQLRequest, stream: Stream) -> None:
        async for result in session.subscribe(request):
            stream.add(next(iter(result.values())))
        stream.fail(RuntimeError("the server completed the subscription"))

    async def close(self) -> None:
        """Disconnects (the server forgets the subscriptions)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class NodeSubscriber:
    """One subscription through the npm graphql-ws client, in a Node.js process."""

    def __init__(
        self,
        node: str,
        ws_url: str,
        query: str,
        variables: dict[str, Any],
        *,
        token: str | None = None,
        count: int | None = None,
        timeout: float = 40.0,
        name: str = "subscription",
    ) -> None:
        self.spec = {
            "url": ws_url,
            "query": query,
            "variables": variables,
            "token": token,
            "count": count,
            "timeoutMs": int(timeout * 1000),
        }
        self.node = node
        self.stream = Stream(f"graphql-ws {name} @ {ws_url}")
        self.stderr = b""
        self.process: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> NodeSubscriber:
        self.process = await asyncio.create_subprocess_exec(
            self.node,
            str(NODE_SCRIPT),
            json.dumps(self.spec),
            cwd=JS_DIR,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._errors())]
        return self

    async def _errors(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        async for line in self.process.stderr:
            self.stderr += line

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for line in self.process.stdout:
            payload = json.loads(line)
            if payload.get("errors"):
                self.stream.fail(AssertionError(f"payload with errors: {payload}"))
            else:
                self.stream.add(next(iter(payload["data"].values())))
        code = await self.process.wait()
        await asyncio.gather(*self._tasks[1:])
        if code != 0:
            self.stream.fail(
                AssertionError(f"node exited with {code}: {self.stderr.decode(errors='replace')}")
            )

    async def finish(self, within: float = 10.0) -> int:
        """Waits for the script to exit (closing its stdin first, which ends an unbounded one)."""
        assert self.process is not None
        if self.process.stdin is not None and not self.process.stdin.is_closing():
            self.process.stdin.close()
        async with asyncio.timeout(within):
            await asyncio.gather(*self._tasks)
        assert self.process.returncode is not None
        return self.process.returncode

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
