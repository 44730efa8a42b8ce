"""Publishes the events recorded in the stores' outboxes (datasources/events/outbox.py)
that are not on the bus yet, and marks them done.

A mutation publishes its own events right after its commit; the relay is for what that
misses: the bus was down (the failed publish wakes the relay, which retries with
backoff until the bus is back), the process died between the commit and the publish
(every process's relay sweeps at start-up and every SWEEP_SECONDS, so another process,
or this one restarted, publishes them). While the relay has a backlog, mutations leave
their events to it, so a topic's events reach the bus in the order they were written.
An event published twice (a sweep racing a mutation) is kept once by the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Coroutine, Sequence
from typing import Any

from datasources.documents.outbox import DocumentOutbox
from datasources.events.bus import EventBus
from datasources.events.outbox import RELATIONAL, OutboxEntry
from datasources.relational.outbox import OutboxRepository
from logs import get_logger

log = get_logger(__name__)

SWEEP_SECONDS = 5.0
MARK_DONE_DELAY_SECONDS = 0.05
BATCH = 100
MIN_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS = 0.25, 5.0


class Outbox:
    """The recorded events of every store."""

    def __init__(self, relational: OutboxRepository, documents: DocumentOutbox) -> None:
        self._relational = relational
        self._documents = documents

    async def pending(self, limit: int = BATCH) -> list[OutboxEntry]:
        """Recorded events not yet marked done, oldest first."""
        found = await self._relational.pending(limit) + await self._documents.pending(limit)
        return sorted(found, key=lambda entry: entry.at)

    async def done(self, entries: Sequence[OutboxEntry]) -> None:
        relational = [entry.id for entry in entries if entry.where == RELATIONAL]
        documents = [entry for entry in entries if entry.where != RELATIONAL]
        if relational:
            await self._relational.done(relational)
        if documents:
            await self._documents.done(documents)


class OutboxRelay:
    def __init__(
        self, outbox: Outbox, bus: EventBus, *, sweep_seconds: float = SWEEP_SECONDS
    ) -> None:
        self.outbox = outbox
        self.bus = bus
        self.sweep_seconds = sweep_seconds
        # Until the first sweep is done, what a crash left behind goes first.
        self.behind = True
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Published by mutations, to be marked done together, off their path.
        self._published: list[OutboxEntry] = []
        self._marking: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Publishes what an earlier run left (before the process serves), then runs."""
        try:
            published = await self.drain()
        except Exception as error:  # the bus may be down: the relay retries
            log.warning(
                "outbox relay: recorded events not published yet", error=type(error).__name__
            )
        else:
            self.behind = False
            if published:
                log.info("outbox relay: published recorded events", events=published)
        if self._task is None:
            self._task = _background(self._run(), "outbox-relay")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.marked()  # what was published is marked done before the stores close

    def published(self, entry: OutboxEntry) -> None:
        """A mutation published its event: it is marked done with others, shortly."""
        self._published.append(entry)
        if self._marking is None or self._marking.done():
            self._marking = _background(self._mark_done(), "outbox-marking")

    async def marked(self) -> None:
        """Until every event published so far is marked done (a batch is on its way)."""
        while self._marking is not None and not self._marking.done():
            await asyncio.shield(self._marking)

    async def _mark_done(self) -> None:
        await asyncio.sleep(MARK_DONE_DELAY_SECONDS)  # gathers a batch
        while self._published:
            batch, self._published = self._published, []
            try:
                await self.outbox.done(batch)
            except Exception as error:  # a sweep publishes them again; the bus drops them
                log.warning("published events not marked done", error=type(error).__name__)

    def fell_behind(self) -> None:
        """A publish failed: the relay takes over, and retries until the bus is back."""
        self.behind = True
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        backoff = MIN_BACKOFF_SECONDS
        if not self.behind:  # start() has just swept
            await self._sleep(self.sweep_seconds)
        while True:
            self._wake.clear()
            try:
                published = await self.drain()
            except Exception as error:
                log.warning(
                    "outbox relay: events not published yet, retrying",
                    error=type(error).__name__,
                    retry_in=backoff,
                )
                self.behind = True
                pause, backoff = backoff, min(backoff * 2, MAX_BACKOFF_SECONDS)
                await asyncio.sleep(pause)
                continue
            if published:
                log.info("outbox relay: published recorded events", events=published)
            self.behind = False
            backoff = MIN_BACKOFF_SECONDS
            await self._sleep(self.sweep_seconds)

    async def _sleep(self, seconds: float) -> None:
        """Until the next sweep, or a wake-up."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()

    async def drain(self) -> int:
        """Publishes every recorded event, oldest first, until none is left."""
        published = 0
        while entries := await self.outbox.pending():
            for entry in entries:
                await self.bus.publish(entry.topic, entry.data, event_id=entry.id)
                published += 1
            await self.outbox.done(entries)
        return published


def _background(work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
    """A task outside any request: in a context of its own, so its statements and
    commands are not counted or traced as part of the request that happened to start it."""
    loop = asyncio.get_running_loop()
    return loop.create_task(work, name=name, context=contextvars.Context())
