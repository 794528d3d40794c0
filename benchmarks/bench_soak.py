"""Soak: events and periodic full syncs, with faults on, for a bounded time.

    .venv/bin/python benchmarks/bench_soak.py                      # 10 minutes
    .venv/bin/python benchmarks/bench_soak.py --minutes 3          # shorter
    .venv/bin/python benchmarks/bench_soak.py --cloudcontrol-throttle 0.02 --sync-every 60

The local AWS endpoint and the local catalog run in their own processes (`local aws`, `catalog
serve`), and so do the exporter's: one `worker` for the whole soak, and a `sync` every
`--sync-every` seconds. A world of `--functions` Lambda functions is synced once, then churns
steadily: each round creates three functions, deletes the three oldest, updates three others
(through Lambda's API), and sends the seed's message for each change; every tenth round adds a
duplicate, and every twentieth a poison message. The queue is kept shallow (moto's SQS slows down
with depth). Faults throughout: Port answers `--port-throttle` of requests 429 and
`--port-errors` 5xx, Cloud Control throttles `--cloudcontrol-throttle` of its calls, and Port is
down for 5 s every `--outage-every` seconds.

At the end the feeding stops, the queue drains, the worker stops, and the figures are printed:
messages/s (acknowledged over the feeding time), message latency p50/p95 (sent to acknowledged,
from the worker's log lines), RSS of the worker (with its jq child) and of each server after the
warm-up and at the end (target: no more than 10% growth), the syncs' durations and exit codes,
lost messages (sent, yet neither acknowledged nor dead-lettered nor still queued: target 0), and
how far the catalog is from AWS once the queue is drained (target 0).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from pydantic import SecretStr

from port_aws_exporter.core.installation import Installation
from port_aws_exporter.events.dead_letters import peek_dead_letters
from port_aws_exporter.local.soak import (
    POISON_MESSAGES,
    SOAK_BLUEPRINT,
    SOAK_CONFIG,
    FaultProfile,
    LambdaWorld,
    MessageLedger,
    Outgoing,
    QueueFeeder,
    WorkerProcess,
    clear_faults,
    port_outage,
    process_tree_rss,
    wait_until,
    worker_environment,
)
from port_aws_exporter.port import PortClient, PortCredentials
from served_process import served

CLIENT_ID, CLIENT_SECRET = "soak", "soak-secret"
INSTALLATION = Installation("123456789012", "us-east-1")
OUTAGE_SECONDS = 5.0
DRAIN_SECONDS = 300


@dataclass
class Churn:
    """The world's steady change: what each round does, and the messages it makes."""

    world: LambdaWorld
    functions: collections.deque[str]
    stop: threading.Event
    rounds: int = 0
    randomiser: random.Random = field(default_factory=lambda: random.Random(14))

    def messages(self) -> Iterator[Outgoing]:
        """The rounds' messages until `stop`; a round begun is finished (its changes are made)."""
        while not self.stop.is_set():
            self.rounds += 1
            created = self.world.create(3, f"r{self.rounds:06d}")
            doomed = [self.functions.popleft() for _ in range(3)]
            # Updated: among the newer half, long after their own creation was applied, long before deletion.
            newer = list(self.functions)[len(self.functions) // 2 :]
            changed = self.randomiser.sample(newer, 3)
            self.functions.extend(created)
            yield from (self.world.created(name) for name in created)
            yield from (_change(self.world.delete, name) for name in doomed)
            yield from (_change(self.world.update, name) for name in changed)
            if self.rounds % 10 == 0:
                yield self.world.created(created[0])
            if self.rounds % 20 == 0:
                yield POISON_MESSAGES[(self.rounds // 20) % len(POISON_MESSAGES)]


def _change(change: Callable[[str], str], name: str) -> Outgoing:
    return lambda: change(name)


@dataclass
class SyncRun:
    seconds: float
    exit_code: int


@dataclass
class Stack:
    """The servers, the exporter's environment and the soak's queues."""

    aws_url: str
    aws_pid: int
    catalog_url: str
    catalog_pid: int
    directory: Path
    sqs: Any = None
    queue_url: str = ""
    dlq_url: str = ""

    @property
    def environment(self) -> dict[str, str]:
        return worker_environment(self.aws_url, self.catalog_url, CLIENT_ID, CLIENT_SECRET)

    @property
    def credentials(self) -> PortCredentials:
        return PortCredentials(client_id=CLIENT_ID, client_secret=SecretStr(CLIENT_SECRET), api_url=self.catalog_url)

    @property
    def config_path(self) -> Path:
        return self.directory / "config.json"

    def prepare(self) -> None:
        self.config_path.write_text(json.dumps(SOAK_CONFIG))
        with PortClient(self.credentials) as port:
            port.apply_blueprint(SOAK_BLUEPRINT)
        self.sqs = boto3.client("sqs", endpoint_url=self.aws_url, region_name="us-east-1", **_dummy())
        self.dlq_url = self.sqs.create_queue(QueueName="soak-dlq")["QueueUrl"]
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.dlq_url, AttributeNames=["QueueArn"])
        redrive = json.dumps({"deadLetterTargetArn": attributes["Attributes"]["QueueArn"], "maxReceiveCount": "10"})
        self.queue_url = self.sqs.create_queue(
            QueueName="soak", Attributes={"VisibilityTimeout": "30", "RedrivePolicy": redrive}
        )["QueueUrl"]

    def sync(self) -> SyncRun:
        started = time.monotonic()
        command = [sys.executable, "-m", "port_aws_exporter", "sync", "--config", str(self.config_path), "--json"]
        done = subprocess.run(command, env=self.environment, capture_output=True, text=True, timeout=1800, check=False)
        return SyncRun(time.monotonic() - started, done.returncode)

    def rss(self, worker: WorkerProcess) -> dict[str, int]:
        return {
            "worker": worker.rss_bytes(),
            "local AWS": process_tree_rss(self.aws_pid),
            "local catalog": process_tree_rss(self.catalog_pid),
        }


@dataclass
class Figures:
    feeding_seconds: float = 0.0
    drain_seconds: float = 0.0
    outages: int = 0
    syncs: list[SyncRun] = field(default_factory=list)
    rss_start: dict[str, int] = field(default_factory=dict)
    rss_end: dict[str, int] = field(default_factory=dict)
    dead: set[str] = field(default_factory=set)
    after_events: tuple[int, int] = (0, 0)
    after_sync: tuple[int, int] = (0, 0)
    final_sync: SyncRun | None = None


def soak(stack: Stack, arguments: argparse.Namespace) -> tuple[Figures, QueueFeeder, MessageLedger, Churn]:
    """Run the soak on a prepared stack; the figures, and what they are made from."""
    figures = Figures()
    world = LambdaWorld(stack.aws_url)
    functions = collections.deque(world.create(arguments.functions, "seed"))
    if stack.sync().exit_code != 0:
        raise SystemExit("the first (clean) sync failed")
    FaultProfile(
        port_throttle_rate=arguments.port_throttle,
        port_server_error_rate=arguments.port_errors,
        cloudcontrol_throttle_probability=arguments.cloudcontrol_throttle,
    ).apply(stack.aws_url, stack.catalog_url)
    worker = WorkerProcess(stack.config_path, stack.queue_url, stack.environment, stack.directory / "worker.log")
    worker.start()
    try:
        stop = threading.Event()
        feeder = QueueFeeder(stack.sqs, stack.queue_url, max_depth=arguments.queue_depth)
        churn = Churn(world, functions, stop)
        # Daemons: an interrupted soak (Ctrl-C) ends without waiting for them.
        threads = [
            threading.Thread(target=lambda: feeder.feed(churn.messages()), name="feeder", daemon=True),
            threading.Thread(
                target=_sync_periodically, args=(stack, arguments.sync_every, stop, figures), name="syncs", daemon=True
            ),
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        duration, warm_up = arguments.minutes * 60, min(60.0, arguments.minutes * 12)
        outage_every = arguments.outage_every or min(180.0, duration / 2)
        next_outage = started + outage_every
        while time.monotonic() - started < duration:
            if not figures.rss_start and time.monotonic() - started >= warm_up:
                figures.rss_start = stack.rss(worker)
            if time.monotonic() >= next_outage:
                port_outage(stack.catalog_url, OUTAGE_SECONDS)
                figures.outages += 1
                next_outage += outage_every
            time.sleep(0.5)
        stop.set()
        threads[0].join(timeout=120)
        figures.feeding_seconds = time.monotonic() - started
        threads[1].join(timeout=1800)  # a sync in progress finishes
        figures.rss_end = stack.rss(worker)
        figures.rss_start = figures.rss_start or figures.rss_end
        wait_until(lambda: feeder.depth() == 0, DRAIN_SECONDS, "the queue to drain")
        figures.drain_seconds = time.monotonic() - started - figures.feeding_seconds
        worker.stop()
    finally:
        if worker.running():  # interrupted: no worker is left behind
            worker.kill()
    clear_faults(stack.aws_url, stack.catalog_url)
    figures.dead = {letter.message_id for letter in peek_dead_letters(stack.sqs, stack.dlq_url, lambda _i, _b: "")}
    figures.after_events = _difference(stack.credentials, world)
    figures.final_sync = stack.sync()
    figures.after_sync = _difference(stack.credentials, world)
    return figures, feeder, MessageLedger.read(worker.log_path), churn


def _sync_periodically(stack: Stack, every: float, stop: threading.Event, figures: Figures) -> None:
    while not stop.wait(every):
        figures.syncs.append(stack.sync())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to feed events (default 10)")
    parser.add_argument("--functions", type=int, default=400, help="size of the world (default 400)")
    parser.add_argument("--sync-every", type=float, default=120.0, help="seconds between full syncs (default 120)")
    parser.add_argument(
        "--outage-every", type=float, help="seconds between 5 s Port outages (default 180, or half a shorter soak)"
    )
    parser.add_argument("--port-throttle", type=float, default=0.1)
    parser.add_argument("--port-errors", type=float, default=0.1)
    parser.add_argument("--cloudcontrol-throttle", type=float, default=0.1)
    parser.add_argument("--queue-depth", type=int, default=20, help="messages queued or in flight at most (20)")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it (the worker's log...)")
    arguments = parser.parse_args()
    with _work_directory(arguments.keep) as directory:
        base = {**os.environ, "PORT_CLIENT_ID": CLIENT_ID, "PORT_CLIENT_SECRET": CLIENT_SECRET}
        with (
            served(["local", "aws"], base) as aws,
            served(["catalog", "serve", "--db", str(Path(directory) / "catalog.db")], base) as catalog,
        ):
            stack = Stack(aws.url, aws.pid, catalog.url, catalog.pid, Path(directory))
            stack.prepare()
            figures, feeder, ledger, churn = soak(stack, arguments)
    _report(arguments, figures, feeder, ledger, churn)


@contextlib.contextmanager
def _work_directory(kept: Path | None) -> Iterator[str]:
    if kept is None:
        with tempfile.TemporaryDirectory(prefix="bench-soak-") as directory:
            yield directory
        return
    kept.mkdir(parents=True, exist_ok=True)
    yield str(kept)


def _difference(credentials: PortCredentials, world: LambdaWorld) -> tuple[int, int]:
    """(functions whose entity is missing or differs, entities of no function) in the catalog."""
    with PortClient(credentials, INSTALLATION) as port:
        catalog = {e["identifier"]: e["properties"]["memory"] for e in port.iter_blueprint_entities("soakFunction")}
    functions = world.functions()
    return sum(1 for name, memory in functions.items() if catalog.get(name) != memory), len(
        set(catalog) - set(functions)
    )


def _dummy() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _report(
    arguments: argparse.Namespace, figures: Figures, feeder: QueueFeeder, ledger: MessageLedger, churn: Churn
) -> None:
    sent = set(feeder.sent)
    acknowledged = ledger.acknowledged & sent
    latencies = sorted(
        at - feeder.sent[message_id]
        for message_id in acknowledged
        if (at := ledger.acknowledged_at(message_id)) is not None
    )
    lost = sent - acknowledged - figures.dead

    def percentile(share: float) -> float:
        return latencies[min(len(latencies) - 1, int(share * len(latencies)))] if latencies else float("nan")

    print(
        f"soak: {figures.feeding_seconds / 60:.1f} min of events ({churn.rounds} rounds of churn over "
        f"{arguments.functions} functions), faults: Port {arguments.port_throttle:.0%} 429 + "
        f"{arguments.port_errors:.0%} 5xx, Cloud Control {arguments.cloudcontrol_throttle:.0%} throttled, "
        f"{figures.outages} Port outage(s) of {OUTAGE_SECONDS:g} s"
    )
    print(f"  messages sent:               {len(sent):8d}")
    print(f"  acknowledged / dead-lettered: {len(acknowledged):7d} / {len(figures.dead)}")
    print(f"  lost messages:               {len(lost):8d}  (target 0)")
    print(f"  messages/s:                  {len(acknowledged) / figures.feeding_seconds:8.1f}")
    print(f"  latency p50 / p95:           {percentile(0.5):8.2f} s / {percentile(0.95):.2f} s (sent to acknowledged)")
    for name, end in figures.rss_end.items():
        start = figures.rss_start[name]
        growth = (end - start) / start if start else float("nan")
        print(
            f"  RSS {name + ':':<24} {start / 2**20:7.1f} MiB -> {end / 2**20:7.1f} MiB ({growth:+.1%}; target <= +10%)"
        )
    dropped = collections.Counter(
        _reason_kind(str(line.get("reason")))
        for lines in ledger.outcomes.values()
        for line in lines
        if line["outcome"] == "skipped" and line.get("dropped")
    )
    print(f"  dropped on purpose:          {sum(dropped.values()):8d}  {dict(dropped)}")
    codes = collections.Counter(run.exit_code for run in figures.syncs)
    seconds = [run.seconds for run in figures.syncs]
    median = statistics.median(seconds) if seconds else float("nan")
    print(f"  full syncs during the soak:  {len(figures.syncs)} (exit codes {dict(codes)}), median {median:.1f} s")
    print(f"  queue drained after:         {figures.drain_seconds:8.1f} s")
    missing, extra = figures.after_events
    print(
        f"  catalog vs AWS, drained:     {missing} missing or stale, {extra} extra (races of a sync's writes and "
        "of concurrent batches: README, Event-based updates)"
    )
    missing, extra = figures.after_sync
    final = figures.final_sync
    assert final is not None
    print(
        f"  ... after a clean sync:      {missing} missing or stale, {extra} extra (target 0; exit code "
        f"{final.exit_code}, {final.seconds:.1f} s)"
    )


def _reason_kind(reason: str) -> str:
    for marker, kind in (
        ("was not found after", "not found after retries"),
        ("belongs to another installation", "delete of another's entity"),
        ("still exists", "delete held back"),
    ):
        if marker in reason:
            return kind
    return "other"


if __name__ == "__main__":
    main()
