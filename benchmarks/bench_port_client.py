"""Port client -> local catalog: bulk upsert vs single-entity upsert, and where the time goes.

    .venv/bin/python benchmarks/bench_port_client.py            # 2000 bulk / 400 single, 3 runs
    .venv/bin/python benchmarks/bench_port_client.py --quick    # 500 / 100, 3 runs

The catalog runs as its own process (`catalog serve`), as it would for the demo, so client and
server do not share one interpreter lock. Each run writes new entities (creates) of a Lambda-like
blueprint (~0.6 KB each). Figures are medians over the runs.

Where the time goes is measured two ways:
- CPU seconds of each process during the run (client: this process; server: /proc/<pid>/stat);
- for a sequential run (one request in flight), the wall time split into client preparation
  (encoding and chunking, timed alone), server operation (validation + SQLite, from
  `/_local/stats`), server endpoint overhead (parsing, auth, JSON answer) and the rest (HTTP on both
  sides and the client's answer handling).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from port_aws_exporter.core.entity_rules import entity_problems
from port_aws_exporter.core.installation import Installation
from port_aws_exporter.port import PortClient, PortCredentials
from port_aws_exporter.port.bulk import encode_entity, entity_body, plan_chunks
from served_process import cpu_seconds, served

CLIENT_ID = "bench"
CLIENT_SECRET = "bench-secret"
INSTALLATION = Installation("123456789012", "us-east-1")
BLUEPRINT: dict[str, Any] = {
    "identifier": "benchLambda",
    "title": "Bench Lambda",
    "schema": {
        "properties": {
            "link": {"type": "string", "format": "url"},
            "description": {"type": "string"},
            "memorySize": {"type": "number"},
            "timeout": {"type": "number"},
            "runtime": {"type": "string"},
            "packageType": {"type": "string", "enum": ["Image", "Zip"]},
            "environment": {"type": "object"},
            "architectures": {"type": "array"},
            "tags": {"type": "array"},
            "arn": {"type": "string"},
        },
        "required": [],
    },
    "relations": {},
}


def make_entities(count: int, prefix: str) -> list[dict[str, Any]]:
    """Entities shaped like the exporter's Lambda mapping output."""
    return [
        {
            "identifier": f"{prefix}-function-{index:06d}",
            "title": f"{prefix}-function-{index:06d}",
            "properties": {
                "link": f"https://console.aws.amazon.com/go/view?arn=arn:aws:lambda:us-east-1:123456789012:function:f{index}",
                "description": "Handles orders for the checkout service",
                "memorySize": 128 * (1 + index % 8),
                "timeout": 30,
                "runtime": "python3.11",
                "packageType": "Zip",
                "environment": {"Variables": {"STAGE": "prod", "TABLE": f"orders-{index % 10}"}},
                "architectures": ["x86_64"],
                "tags": [{"Key": "team", "Value": "payments"}, {"Key": "env", "Value": "prod"}],
                "arn": f"arn:aws:lambda:us-east-1:123456789012:function:{prefix}-function-{index:06d}",
            },
        }
        for index in range(count)
    ]


@contextmanager
def served_catalog() -> Iterator[tuple[str, int]]:
    """`catalog serve` in a subprocess on a temporary database: yields (url, pid)."""
    with tempfile.TemporaryDirectory(prefix="bench-catalog-") as directory:
        environment = {**os.environ, "PORT_CLIENT_ID": CLIENT_ID, "PORT_CLIENT_SECRET": CLIENT_SECRET}
        with served(["catalog", "serve", "--db", str(Path(directory) / "c.db")], environment) as catalog:
            yield catalog.url, catalog.pid


@dataclass
class RunFigures:
    """One measured run."""

    entities: int
    wall_seconds: float
    requests: int
    failed: int
    client_cpu_seconds: float
    server_cpu_seconds: float
    server_stats: dict[str, Any]

    @property
    def entities_per_second(self) -> float:
        return self.entities / self.wall_seconds

    @property
    def requests_per_entity(self) -> float:
        return self.requests / self.entities


def measure(
    url: str, pid: int, concurrency: int, write: Callable[[PortClient], tuple[int, int]], count: int
) -> RunFigures:
    """Run `write(client) -> (requests, failed)` with a fresh warm client; collect the figures."""
    credentials = PortCredentials(client_id=CLIENT_ID, client_secret=SecretStr(CLIENT_SECRET), api_url=url)
    with PortClient(credentials, INSTALLATION, max_concurrency=concurrency) as client:
        client.get_blueprint(BLUEPRINT["identifier"])  # token and one connection, outside the timing
        httpx.delete(f"{url}/_local/stats")
        server_cpu, client_cpu = cpu_seconds(pid), time.process_time()
        started = time.perf_counter()
        requests, failed = write(client)
        wall = time.perf_counter() - started
        client_cpu, server_cpu = time.process_time() - client_cpu, cpu_seconds(pid) - server_cpu
    stats = httpx.get(f"{url}/_local/stats").json()["stats"]
    return RunFigures(count, wall, requests, failed, client_cpu, server_cpu, stats)


def bulk_writer(entities: list[dict[str, Any]]) -> Callable[[PortClient], tuple[int, int]]:
    def write(client: PortClient) -> tuple[int, int]:
        results = client.bulk_upsert(BLUEPRINT["identifier"], entities)
        return client.counters.requests["entity_bulk_upsert"], sum(not result.ok for result in results)

    return write


def single_writer(entities: list[dict[str, Any]], concurrency: int) -> Callable[[PortClient], tuple[int, int]]:
    def write(client: PortClient) -> tuple[int, int]:
        def upsert(entity: dict[str, Any]) -> bool:
            return bool(client.upsert_entity(BLUEPRINT["identifier"], entity))

        with ThreadPoolExecutor(concurrency) as pool:
            written = list(pool.map(upsert, entities))
        return client.counters.requests["entity_upsert"], written.count(False)

    return write


def client_preparation_seconds(entities: list[dict[str, Any]]) -> float:
    """Checking, encoding and chunking alone (what the client does before the first byte is sent)."""
    started = time.perf_counter()
    for entity in entities:
        entity_problems(entity_body(entity))
    payloads = [encode_entity(entity) for entity in entities]
    plan_chunks([len(payload) for payload in payloads])
    return time.perf_counter() - started


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="500 bulk / 100 single entities")
    parser.add_argument("--entities", type=int, help="entities per bulk run (default 2000)")
    parser.add_argument("--single-entities", type=int, help="entities per single-upsert run (default 400)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=5, help="client max_concurrency (default 5)")
    options = parser.parse_args()
    bulk_count = options.entities or (500 if options.quick else 2000)
    single_count = options.single_entities or (100 if options.quick else 400)
    concurrency = options.concurrency

    bulk: list[RunFigures] = []
    bulk_sequential: list[RunFigures] = []
    single: list[RunFigures] = []
    preparation: list[float] = []
    with served_catalog() as (url, pid):
        credentials = PortCredentials(client_id=CLIENT_ID, client_secret=SecretStr(CLIENT_SECRET), api_url=url)
        with PortClient(credentials) as admin:
            admin.apply_blueprint(BLUEPRINT)
        for run in range(options.runs):
            entities = make_entities(bulk_count, f"b{run}")
            preparation.append(client_preparation_seconds(entities))
            bulk.append(measure(url, pid, concurrency, bulk_writer(entities), bulk_count))
            sequential = make_entities(bulk_count, f"s{run}")
            bulk_sequential.append(measure(url, pid, 1, bulk_writer(sequential), bulk_count))
            singles = make_entities(single_count, f"u{run}")
            single.append(measure(url, pid, concurrency, single_writer(singles, concurrency), single_count))
    report(
        bulk=bulk,
        sequential=bulk_sequential,
        single=single,
        preparation=preparation,
        concurrency=concurrency,
        runs=options.runs,
    )


def report(
    *,
    bulk: list[RunFigures],
    sequential: list[RunFigures],
    single: list[RunFigures],
    preparation: list[float],
    concurrency: int,
    runs: int,
) -> None:
    failed = sum(figures.failed for figures in (*bulk, *sequential, *single))
    bulk_rate = median([figures.entities_per_second for figures in bulk])
    single_rate = median([figures.entities_per_second for figures in single])
    bulk_requests = median([figures.requests_per_entity for figures in bulk])
    single_requests = median([figures.requests_per_entity for figures in single])
    print(f"Port client -> local catalog (separate process), medians of {runs} runs; failed writes: {failed}")
    print(
        f"bulk upsert,   concurrency {concurrency}: {bulk[0].entities} entities: "
        f"{bulk_rate:8.0f} entities/s, {bulk_requests:.3f} requests/entity"
    )
    print(
        f"bulk upsert,   concurrency 1: {sequential[0].entities} entities: "
        f"{median([f.entities_per_second for f in sequential]):8.0f} entities/s"
    )
    print(
        f"single upsert, concurrency {concurrency}: {single[0].entities} entities: "
        f"{single_rate:8.0f} entities/s, {single_requests:.3f} requests/entity"
    )
    print(f"bulk / single throughput: {bulk_rate / single_rate:.1f}x")
    print()
    print("CPU seconds per 1000 entities (client process / server process):")
    for name, figures in (("bulk c=" + str(concurrency), bulk), ("bulk c=1", sequential), ("single", single)):
        client = median([f.client_cpu_seconds * 1000 / f.entities for f in figures])
        server = median([f.server_cpu_seconds * 1000 / f.entities for f in figures])
        print(f"  {name:10s} client {client:6.3f} s   server {server:6.3f} s")
    wall = median([f.wall_seconds for f in sequential])
    prep = median(preparation)
    operation = median([f.server_stats["bulk_write"]["operation_seconds"] for f in sequential])
    endpoint = median([f.server_stats["bulk_write"]["endpoint_seconds"] for f in sequential])
    rest = max(wall - prep - endpoint, 0.0)
    print()
    print(f"Sequential bulk run ({sequential[0].entities} entities, one request in flight), wall {wall:.3f} s:")
    for label, seconds in (
        ("client: check + encode + chunk", prep),
        ("server: validation + SQLite", operation),
        ("server: parse, auth, JSON answer", endpoint - operation),
        ("HTTP both sides + client answer handling", rest),
    ):
        print(f"  {label:42s} {seconds:7.3f} s  {100 * seconds / wall:5.1f} %")


if __name__ == "__main__":
    main()
