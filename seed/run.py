"""`seed(settings, options)`: generates the data set and writes it to empty datastores."""

from __future__ import annotations

import asyncio
import time

from rich.console import Console

from auth.passwords import hash_password
from datasources.stores import open_datastores_for
from seed.dataset import SeedSummary
from seed.display import progress_bars
from seed.generation import generate
from seed.options import SeedOptions
from seed.refusals import check_empty, check_not_production, check_users_first
from seed.writing import Writer
from settings import Settings


async def seed(
    settings: Settings,
    options: SeedOptions | None = None,
    *,
    show_progress: bool = False,
    console: Console | None = None,
) -> SeedSummary:
    """Seeds the datastores `settings` point at. Raises SeedRefused (nothing written) in
    production or when they already hold data, ValueError for bad options."""
    started = time.perf_counter()
    options = options or SeedOptions()
    options.check()
    check_not_production(settings)
    await check_users_first(settings)
    stores = await open_datastores_for(settings, time_limits=False)
    try:
        await check_empty(stores, settings)
        with progress_bars(console, show_progress) as progress:
            task = progress.add_task("generating", total=None)
            data, password_hash = await asyncio.gather(
                asyncio.to_thread(generate, options), hash_password(options.password)
            )
            progress.update(task, total=1, completed=1)
            writer = Writer(stores, progress, transactions=settings.mongodb_url is None)
            async with asyncio.TaskGroup() as group:
                group.create_task(writer.relational(data, password_hash))
                group.create_task(writer.documents(data))
    finally:
        await stores.close()
    return SeedSummary(data.counts(), time.perf_counter() - started)
