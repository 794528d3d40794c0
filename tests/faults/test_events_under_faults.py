"""Events under faults: the worker applies or dead-letters every message, whatever goes wrong.

1,200 messages (sized to keep this test near a minute on a 2-core machine; the soak benchmark,
`benchmarks/bench_soak.py`, runs for as long as asked) about Lambda functions, sent while their
changes happen, through `port-aws-exporter worker` in a child process: Port answers 10% of
requests 429 and 10% 5xx throughout, Cloud Control throttles 10% of reads for a while, Port goes
down for 4 s once, and the worker is killed with SIGKILL twice and started again. Among the
messages: duplicates, and poison messages of every kind a rule or a sender gets wrong.

At the end every message was applied (or dropped on purpose) or is in the dead-letter queue with
the consumer's own reason, and the catalog holds exactly the functions AWS holds, as AWS has them.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import pytest

from port_aws_exporter.core.config import ExporterConfig
from port_aws_exporter.core.jq.worker import TimeLimitedJq
from port_aws_exporter.events.dead_letters import diagnose, peek_dead_letters
from port_aws_exporter.local.soak import (
    POISON_MESSAGES,
    SOAK_CONFIG,
    FaultProfile,
    LambdaWorld,
    MessageLedger,
    Outgoing,
    QueueFeeder,
    WorkerProcess,
    clear_faults,
    port_outage,
    seed_message,
    wait_until,
)
from tests.faults.conftest import FaultStack, QueueFactory

pytestmark = pytest.mark.slow

EXISTING, NEW, UPDATED, TWICE, DELETED, DUPLICATES, POISON_ROUNDS = 400, 700, 250, 50, 100, 80, 4
MAX_RECEIVES = 8
DRAIN_TIMEOUT_SECONDS = 400


def test_every_message_is_applied_or_dead_lettered_with_its_reason_and_the_catalog_equals_aws(
    fault_stack: FaultStack, event_queues: QueueFactory, soak_config: ExporterConfig
) -> None:
    stack = fault_stack
    world = LambdaWorld(stack.aws.url)
    existing = world.create(EXISTING, "old")
    first = stack.sync(soak_config)  # the catalog starts equal to AWS
    assert first.report.succeeded and first.report.written == EXISTING
    new = world.create(NEW, "new")

    outgoing = _messages(world, existing, new)
    total = len(outgoing)
    queues = event_queues(visibility_timeout=10, max_receive_count=MAX_RECEIVES)
    worker = WorkerProcess(
        stack.write_config(SOAK_CONFIG), queues.queue_url, stack.environment, stack.directory / "w.log"
    )
    FaultProfile(cloudcontrol_throttle_probability=0).apply(stack.aws.url, stack.catalog.url)
    feeder = QueueFeeder(queues.sqs, queues.queue_url)
    milestones: list[tuple[float, Callable[[], object]]] = [
        (0.20, lambda: stack.aws.faults.fail("CloudApiService.GetResource", probability=0.1, count=15)),
        (0.33, lambda: _kill_and_restart(worker)),
        (0.50, lambda: port_outage(stack.catalog.url, 4.0)),
        (0.66, lambda: _kill_and_restart(worker)),
    ]
    done: list[str] = []

    def on_sent(count: int) -> None:
        while milestones and count >= milestones[0][0] * total:
            _, action = milestones.pop(0)
            action()
            done.append(f"{count}")

    worker.start()
    failure: list[BaseException] = []

    def feed() -> None:
        try:
            feeder.feed(outgoing, on_sent=on_sent)
        except BaseException as error:  # reported by the test thread
            failure.append(error)

    sender = threading.Thread(target=feed, name="feeder")
    sender.start()
    try:
        sender.join(timeout=DRAIN_TIMEOUT_SECONDS)
        assert not failure, failure
        assert not sender.is_alive(), "the messages were not all sent in time"
        wait_until(lambda: feeder.depth() == 0, DRAIN_TIMEOUT_SECONDS, "the events queue to drain")
    finally:
        if worker.running():
            assert worker.stop() == 0
        clear_faults(stack.aws.url, stack.catalog.url)
    assert len(done) == 4 and worker.starts == 3

    ledger = MessageLedger.read(worker.log_path)
    with TimeLimitedJq() as evaluator:
        dead = peek_dead_letters(
            queues.sqs,
            queues.dlq_url,
            lambda message_id, body: diagnose(message_id, body, evaluator, soak_config.kinds()),
        )
    sent = set(feeder.sent)
    dead_ids = {letter.message_id for letter in dead}
    assert len(sent) == total
    # Nothing lost: each message was acknowledged (applied, or dropped on purpose), or dead-lettered.
    assert sent == ledger.acknowledged | dead_ids
    # Only the poison is dead-lettered, all of it, each with the reason the consumer gave it.
    assert sorted(letter.body for letter in dead) == sorted(POISON_MESSAGES * POISON_ROUNDS)
    assert not dead_ids & ledger.acknowledged
    for letter in dead:
        logged = ledger.reasons(letter.message_id)
        assert logged, f"no logged reason for {letter.message_id}"
        assert letter.reason == f"bad message: {logged[-1]}"

    catalog = {
        entity["identifier"]: entity["properties"]["memory"]
        for entity in stack.port.iter_blueprint_entities("soakFunction")
    }
    assert catalog == world.functions()
    assert not [line for line in ledger.other_lines if "Traceback" in line]


def _messages(world: LambdaWorld, existing: list[str], new: list[str]) -> list[Outgoing]:
    """Creates of the new functions, one update or delete of existing ones (each made just before its
    message is sent), duplicates, poison; shuffled."""
    randomiser = random.Random(14)
    updated = existing[:UPDATED]
    deleted = existing[UPDATED : UPDATED + DELETED]
    outgoing: list[Outgoing] = [world.created(name) for name in new]
    outgoing += [world.created(name) for name in randomiser.sample(new, DUPLICATES)]
    outgoing += [_change(world.update, name) for name in updated]
    # Updates delivered twice (the same change): a second change of one function could race its first
    # in two concurrent batches (the older read written last), which only the next event or sync settles.
    outgoing += [seed_message(name, "UpdateFunctionConfiguration20150331v2") for name in updated[:TWICE]]
    outgoing += [_change(world.delete, name) for name in deleted]
    outgoing += list(POISON_MESSAGES) * POISON_ROUNDS
    randomiser.shuffle(outgoing)
    return outgoing


def _change(change: Callable[[str], str], name: str) -> Callable[[], str]:
    return lambda: change(name)


def _kill_and_restart(worker: WorkerProcess) -> None:
    worker.kill()
    worker.start()
