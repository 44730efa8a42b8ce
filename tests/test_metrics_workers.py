"""/metrics with several workers (`agora serve --workers 2` on PostgreSQL, SecantusDB and
Redis): whichever worker answers a scrape counts the requests every worker served, and
shows each live worker."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from support.apps import UNLIMITED, RealServers
from support.cluster import real_servers_env
from support.commands import agora
from support.metrics import Samples, Workers, requests, serving_workers, total, worker_pids
from support.metrics import scrape as scrape_of

PROBE = "query MetricsWorkerProbe { __typename }"
BATCH = 40  # concurrent requests, each on a connection of its own
MAX_BATCHES = 25
STARTUP_TIMEOUT = 60.0


async def scrape(workers: Workers) -> Samples:
    async with httpx.AsyncClient(base_url=workers.url, timeout=10) as http:
        return await scrape_of(http)


async def both_workers_up(workers: Workers) -> None:
    """Until a scrape shows two live workers (each records its start when its app has
    started up)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        if workers.process.poll() is not None:
            raise AssertionError(f"agora serve exited:\n{workers.log_tail()}")
        try:
            pids = worker_pids(await scrape(workers))
            if len(pids) == 2:
                return
            last = f"workers {pids}"
        except (httpx.HTTPError, AssertionError) as error:
            last = repr(error)
        await asyncio.sleep(0.2)
    raise AssertionError(f"two workers not up ({last}):\n{workers.log_tail()}")


async def probe_batch(workers: Workers) -> None:
    """BATCH requests at once, each on a fresh connection: the workers share the
    listening socket, so the connections are spread over them."""

    async def one() -> None:
        async with httpx.AsyncClient(base_url=workers.url, timeout=30) as http:
            response = await http.post("/graphql", json={"query": PROBE})
        assert response.status_code == 200, response.text
        assert response.json()["data"] == {"__typename": "Query"}

    await asyncio.gather(*(one() for _ in range(BATCH)))


async def test_a_scrape_counts_the_requests_of_every_worker(
    real_servers: RealServers, tmp_path: Path
) -> None:
    env = {
        **real_servers_env(real_servers, "metrics", redis_db=9),
        "LOG_LEVEL": "WARNING",
        **{name.upper(): str(limit) for name, limit in UNLIMITED.items()},
    }
    migrated = agora("migrate", env={**env, "DATA_DIR": str(tmp_path / "migrate")}, timeout=120)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    with serving_workers(env, 2, tmp_path) as workers:
        await both_workers_up(workers)
        pids = worker_pids(await scrape(workers))
        assert str(workers.process.pid) not in pids  # the supervisor serves nothing

        sent = 0
        while sent < BATCH * MAX_BATCHES:
            await probe_batch(workers)
            sent += BATCH
            served = workers.per_worker("agora_graphql_requests_total")
            if len([pid for pid, count in served.items() if count > 0]) == 2:
                break
        served = workers.per_worker("agora_graphql_requests_total")
        assert {str(pid) for pid, count in served.items() if count > 0} == pids, served
        assert sum(served.values()) == sent

        samples = await scrape(workers)
        assert total(samples, "agora_graphql_requests_total") == sent
        probe = requests(
            transport="http",
            operation_type="query",
            operation_name="MetricsWorkerProbe",
            outcome="ok",
        )
        assert samples[probe] == sent
        assert worker_pids(samples) == pids
        metrics_dir = workers.metrics_dir()

    # Each worker took its live gauges (connections, pools, its start time) with it.
    assert workers.process.returncode is not None
    left = sorted(path.name for path in metrics_dir.glob("gauge_live*.db"))
    assert left == [], left
