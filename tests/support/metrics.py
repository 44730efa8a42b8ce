"""Reading /metrics the way Prometheus does, and what changed between two scrapes."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from support.servers import free_port

# A sample: its name (with _total, _count, _bucket...) and its labels, sorted.
Key = tuple[str, tuple[tuple[str, str], ...]]
Samples = dict[Key, float]

# Samples whose value is a time, not a count: never compared exactly.
TIMES = ("_created", "agora_worker_start_time_seconds", "_duration_seconds_sum")


def parse(text: str, prefix: str = "agora_") -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith(prefix):
                samples[key(sample.name, **sample.labels)] = sample.value
    return samples


def key(name: str, **labels: str) -> Key:
    return name, tuple(sorted(labels.items()))


async def scrape(http: httpx.AsyncClient, **headers: str) -> Samples:
    response = await http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain"), response.headers
    return parse(response.text)


def changes(before: Samples, after: Samples) -> dict[Key, float]:
    """Every count that moved (samples of times left out), by how much."""
    moved = {}
    for sample, value in after.items():
        if any(part in sample[0] for part in TIMES):
            continue
        delta = value - before.get(sample, 0.0)
        if delta:
            moved[sample] = delta
    return moved


def value(samples: Mapping[Key, float], name: str, **labels: str) -> float:
    return samples.get(key(name, **labels), 0.0)


def total(samples: Mapping[Key, float], name: str, **labels: str) -> float:
    """The sum of `name` over every sample whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


async def settled(
    http: httpx.AsyncClient, check: Callable[[Samples], bool], timeout: float = 10
) -> Samples:
    """Scrapes until `check` holds for the samples (what happens after a client leaves,
    such as a closed subscription, is counted a moment later)."""
    samples: Samples = {}
    try:
        async with asyncio.timeout(timeout):
            while True:
                samples = await scrape(http)
                if check(samples):
                    return samples
                await asyncio.sleep(0.05)
    except TimeoutError:
        shown = {k: v for k, v in samples.items() if not k[0].endswith(("_bucket", "_created"))}
        raise AssertionError(f"metrics did not settle within {timeout}s: {shown}") from None


def requests(**labels: Any) -> Key:
    """The key of `agora_graphql_requests_total` with these labels."""
    return key("agora_graphql_requests_total", **labels)


# -- several workers: `agora serve --workers N` --------------------------------------------

REPO = Path(__file__).resolve().parents[2]
AGORA = REPO / ".venv" / "bin" / "agora"


@dataclass
class Workers:
    """`agora serve --workers N` in a process of its own, and where it keeps its metrics."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    temp_dir: Path  # TMPDIR of the server: `agora serve` makes its metrics folder there

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError as error:
            return f"(no log: {error})"

    def metrics_dir(self) -> Path:
        found = sorted(self.temp_dir.glob("agora-metrics-*"))
        assert len(found) == 1, f"one metrics folder expected in {self.temp_dir}: {found}"
        return found[0]

    def per_worker(self, sample_name: str) -> dict[int, float]:
        """The sum of `sample_name` in each worker's own file (prometheus-client writes
        a file per process, named after its pid)."""
        counts: dict[int, float] = {}
        for path in self.metrics_dir().glob("counter_*.db"):
            pid = int(path.stem.rsplit("_", 1)[1])
            merged = MultiProcessCollector.merge([str(path)], accumulate=True)
            counts[pid] = sum(
                s.value for metric in merged for s in metric.samples if s.name == sample_name
            )
        return counts


@contextlib.contextmanager
def serving_workers(env: dict[str, str], workers: int, tmp: Path) -> Iterator[Workers]:
    """`agora serve --workers <workers>` on a free port, with PROMETHEUS_MULTIPROC_DIR
    left for it to set; stopped (SIGTERM, as an operator would) afterwards."""
    port = free_port()
    temp_dir = tmp / "tmp"
    temp_dir.mkdir()
    env = {key: value for key, value in env.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    env |= {"TMPDIR": str(temp_dir), "DATA_DIR": str(tmp / "data")}
    log_path = tmp / "agora-serve.log"
    command = [str(AGORA), "serve", "--workers", str(workers), "--port", str(port)]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
    served = Workers(f"http://127.0.0.1:{port}", process, log_path, temp_dir)
    try:
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def worker_pids(samples: Mapping[Key, float]) -> set[str]:
    return {
        dict(labels).get("pid", "")
        for name, labels in samples
        if name == "agora_worker_start_time_seconds"
    }
