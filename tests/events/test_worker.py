"""The SQS worker: consumes like the Lambda, retries through visibility, stops without loss."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import port_aws_exporter.events.worker as worker_module
from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.cli.event_session import EventSession, open_event_batch
from port_aws_exporter.events.records import BatchOutcome, MessageResult, SqsRecord
from port_aws_exporter.events.worker import SqsWorker, WorkerOptions, _Deliveries
from port_aws_exporter.local.aws import RunningLocalAws
from port_aws_exporter.local.catalog import RunningCatalog
from port_aws_exporter.port import PortClient
from tests.events.conftest import MessageFactory, examples
from tests.fixtures.event_queues import EventQueues


def wait_for(condition: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def session(events_env: dict[str, str], local_catalog: RunningCatalog, shared_data: Path) -> Iterator[EventSession]:
    config = examples(shared_data) / "lambda.mapping.json"
    with open_event_batch(config, local_catalog.credentials(), clients=AwsClients(max_attempts=2)) as opened:
        yield opened


@pytest.fixture
def run_in_thread() -> Iterator[Callable[[SqsWorker], threading.Thread]]:
    """Run workers in threads; whatever a test leaves running is stopped after it."""
    started: list[tuple[SqsWorker, threading.Thread]] = []

    def run(worker: SqsWorker) -> threading.Thread:
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        started.append((worker, thread))
        return thread

    yield run
    for worker, thread in started:
        worker.stop()
        thread.join(timeout=15)


def test_the_worker_applies_deletes_what_it_applied_and_dead_letters_poison(
    fresh_local_aws: RunningLocalAws,
    event_queues: Callable[..., EventQueues],
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
    session: EventSession,
    run_in_thread: Callable[[SqsWorker], threading.Thread],
) -> None:
    port = catalog_with("lambda.blueprint.json")
    queues = event_queues(visibility_timeout=5, max_receive_count=2)
    names = fresh_local_aws.bulk_create_lambda_functions(6, prefix="worker")
    queues.send(*(seed_message("CreateFunction20150331", name) for name in names), "poison")
    # One consumer: moto may hand a message to two receives running at once, each counting a delivery,
    # and the poison would then reach the dead-letter queue after one failure. Concurrent consumers
    # are the subject of the tests below.
    options = WorkerOptions(queues.queue_url, concurrency=1, wait_seconds=1, retry_delay_seconds=0)
    worker = SqsWorker(session.batch.process, queues.sqs, options)
    thread = run_in_thread(worker)

    # Waits for the outcome: while the worker receives, moto's queue counts may miss a message.
    wait_for(
        lambda: worker.stats.as_dict()["acknowledged"] >= 6 and queues.depth(queues.dlq_url) == 1,
        what="the six messages applied and the poison dead-lettered",
    )
    worker.stop()
    thread.join(timeout=30)

    assert not thread.is_alive()
    assert queues.depth() == 0
    assert sorted(entity["identifier"] for entity in port.iter_blueprint_entities("lambda")) == names
    assert [message["Body"] for message in queues.peek(queues.dlq_url)] == ["poison"]
    stats = worker.stats.as_dict()
    assert (stats["acknowledged"], stats["failed"]) == (6, 2)  # the poison, received twice


def test_a_failed_message_comes_back_after_a_backoff_that_grows_with_its_receive_count(
    fresh_local_aws: RunningLocalAws,
    event_queues: Callable[..., EventQueues],
    run_in_thread: Callable[[SqsWorker], threading.Thread],
) -> None:
    queues = event_queues(visibility_timeout=30, max_receive_count=10)
    queues.send("fails")
    seen: list[tuple[float, int]] = []

    def process(records: list[SqsRecord]) -> BatchOutcome:

        seen.extend((time.monotonic(), record.receive_count) for record in records)
        results = [MessageResult(record.message_id, error="always", transient=True) for record in records]
        return BatchOutcome(results)

    options = WorkerOptions(queues.queue_url, concurrency=1, wait_seconds=1, retry_delay_seconds=1)
    worker = SqsWorker(process, queues.sqs, options)
    thread = run_in_thread(worker)
    wait_for(lambda: len(seen) >= 3, what="three deliveries")
    worker.stop()
    thread.join(timeout=30)

    assert [count for _, count in seen[:3]] == [1, 2, 3]
    first_gap, second_gap = seen[1][0] - seen[0][0], seen[2][0] - seen[1][0]
    assert 0.9 <= first_gap < 15 and 1.9 <= second_gap < 15  # 1 s, then 2 s: not the queue's 30 s
    assert options.retry_delay(1) == 1 and options.retry_delay(4) == 8 and options.retry_delay(30) == 600


def test_stopping_mid_batch_finishes_it_and_releases_what_arrives_after(
    fresh_local_aws: RunningLocalAws,
    event_queues: Callable[..., EventQueues],
    run_in_thread: Callable[[SqsWorker], threading.Thread],
) -> None:
    queues = event_queues(visibility_timeout=60, max_receive_count=10)
    queues.send(*(f"message-{n}" for n in range(12)))
    entered, proceed = threading.Event(), threading.Event()
    processed: list[str] = []

    def process(records: list[SqsRecord]) -> BatchOutcome:

        entered.set()
        proceed.wait(10)
        processed.extend(record.body for record in records)
        return BatchOutcome([MessageResult(record.message_id) for record in records])

    worker = SqsWorker(process, queues.sqs, WorkerOptions(queues.queue_url, concurrency=2, wait_seconds=1))
    thread = run_in_thread(worker)
    assert entered.wait(60), "no batch reached the processor"
    worker.stop()
    proceed.set()
    thread.join(timeout=30)

    assert not thread.is_alive()
    # What was processed is deleted; everything else is visible again at once (not after 60 s).
    remaining = {message["Body"] for message in queues.peek()}
    assert remaining.isdisjoint(processed)
    assert remaining | set(processed) == {f"message-{n}" for n in range(12)}


def _applied_ids(stderr: str) -> list[str]:
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [line["message_id"] for line in lines if line.get("outcome") == "applied"]


def test_the_worker_command_stops_on_sigterm_without_losing_or_double_applying(
    fresh_local_aws: RunningLocalAws,
    event_queues: Callable[..., EventQueues],
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
    events_env: dict[str, str],
    shared_data: Path,
) -> None:
    port = catalog_with("lambda.blueprint.json")
    # Nothing here fails; a high count keeps moto's duplicate deliveries to concurrent receives from
    # dead-lettering a message that was never tried.
    queues = event_queues(visibility_timeout=60, max_receive_count=100)
    names = fresh_local_aws.bulk_create_lambda_functions(100, prefix="sigterm")
    ids = queues.send(*(seed_message("CreateFunction20150331", name) for name in names))
    # Batches take a while (ten waves of reads), so SIGTERM lands with most messages still queued.
    fresh_local_aws.faults.delay("CloudApiService.GetResource", latency_ms=400)
    command = [
        sys.executable,
        "-m",
        "port_aws_exporter",
        "worker",
        "--config",
        str(examples(shared_data) / "lambda.mapping.json"),
        "--queue-url",
        queues.queue_url,
        "--wait-seconds",
        "1",
        "--concurrency",
        "2",
    ]

    def count() -> int:
        return len(list(port.iter_blueprint_entities("lambda")))

    env = {**os.environ, **events_env}
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: count() > 0, timeout=30, what="the first writes")
        first.send_signal(signal.SIGTERM)
        out, err = first.communicate(timeout=30)
    finally:
        first.kill()
    assert first.returncode == 0, err[-2000:]
    stats = json.loads(out)
    applied_first = _applied_ids(err)
    assert 0 < stats["acknowledged"] == len(applied_first) < len(ids)
    # Nothing applied is left in the queue, nothing left is lost: they add up, and all is visible.
    left = queues.peek()
    assert len(left) + len(applied_first) == len(ids)
    assert {message["MessageId"] for message in left}.isdisjoint(applied_first)

    fresh_local_aws.faults.clear()
    second = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: queues.depth() == 0 and count() == len(names), timeout=60, what="the rest")
        second.send_signal(signal.SIGINT)
        _, err_second = second.communicate(timeout=30)
    finally:
        second.kill()
    assert second.returncode == 0
    applied = Counter(applied_first + _applied_ids(err_second))
    assert set(applied) == set(ids) and set(applied.values()) == {1}
    assert sorted(entity["identifier"] for entity in port.iter_blueprint_entities("lambda")) == names


def test_a_second_sigterm_stops_the_worker_at_once_and_loses_nothing(
    fresh_local_aws: RunningLocalAws,
    event_queues: Callable[..., EventQueues],
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
    events_env: dict[str, str],
    shared_data: Path,
) -> None:
    catalog_with("lambda.blueprint.json")
    queues = event_queues(visibility_timeout=2, max_receive_count=100)
    names = fresh_local_aws.bulk_create_lambda_functions(4, prefix="stuck")
    ids = set(queues.send(*(seed_message("CreateFunction20150331", name) for name in names)))
    # Every read hangs for a minute: the batch in hand cannot finish while the test runs.
    reads = fresh_local_aws.faults.delay("CloudApiService.GetResource", latency_ms=60_000)
    command = [
        sys.executable,
        "-m",
        "port_aws_exporter",
        "worker",
        "--config",
        str(examples(shared_data) / "lambda.mapping.json"),
        "--queue-url",
        queues.queue_url,
        "--wait-seconds",
        "1",
    ]
    worker = subprocess.Popen(
        command, env={**os.environ, **events_env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:

        def reading() -> bool:
            return any(rule["id"] == reads and rule["fired"] > 0 for rule in fresh_local_aws.faults.rules())

        wait_for(reading, timeout=60, what="a read in flight")
        worker.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert worker.poll() is None  # the first signal waits for the batch in hand
        worker.send_signal(signal.SIGTERM)
        # Well within the minute the read still needs: the second signal does not wait for it.
        _, err = worker.communicate(timeout=20)
    finally:
        worker.kill()
        fresh_local_aws.faults.clear()
    assert worker.returncode == 128 + signal.SIGTERM
    assert "second signal: exiting without waiting for the batches in hand" in err
    # Nothing applied, nothing lost: every message is back in the queue once its visibility ends.
    wait_for(lambda: {message["MessageId"] for message in queues.peek()} == ids, timeout=30, what="the messages back")


def test_receive_errors_do_not_stop_the_worker(
    fresh_local_aws: RunningLocalAws,
    event_queues: Callable[..., EventQueues],
    monkeypatch: pytest.MonkeyPatch,
    run_in_thread: Callable[[SqsWorker], threading.Thread],
    aws_env: dict[str, str],
) -> None:

    monkeypatch.setattr(worker_module, "_RECEIVE_ERROR_PAUSE_SECONDS", 0.1)
    queues = event_queues()
    queues.send("hello")
    fresh_local_aws.faults.fail("AmazonSQS.ReceiveMessage", code="InternalError", status=500, count=2)
    received: list[str] = []

    def process(records: list[SqsRecord]) -> BatchOutcome:

        received.extend(record.body for record in records)
        return BatchOutcome([MessageResult(record.message_id) for record in records])

    sqs = AwsClients(max_attempts=1).client("sqs", "us-east-1")
    worker = SqsWorker(process, sqs, WorkerOptions(queues.queue_url, concurrency=1, wait_seconds=1))
    thread = run_in_thread(worker)
    wait_for(lambda: received == ["hello"], what="the message after the errors")
    worker.stop()
    thread.join(timeout=30)
    assert worker.stats.as_dict()["receive_errors"] == 2
    assert queues.depth() == 0


def test_worker_options_are_checked() -> None:
    with pytest.raises(ValueError, match="max_messages must be 1 to 10; wait_seconds must be 0 to 20"):
        WorkerOptions("q", max_messages=11, wait_seconds=21)


def test_a_duplicate_delivery_is_never_applied_twice() -> None:

    def record(message_id: str, handle: str) -> SqsRecord:
        return SqsRecord.from_receive({"MessageId": message_id, "Body": "{}", "ReceiptHandle": handle})

    deliveries = _Deliveries()
    first, none_done = deliveries.claim([record("a", "h1"), record("b", "h2")])
    assert [r.message_id for r in first] == ["a", "b"] and none_done == []
    # The same message handed to a second consumer while the first holds it: left to the first,
    # which then deletes it with the newest handle (SQS ignores deletes with a superseded one).
    again, none_done = deliveries.claim([record("a", "h3"), record("c", "h4")])
    assert [r.message_id for r in again] == ["c"] and none_done == []
    assert [r.receipt_handle for r in deliveries.newest(first)] == ["h3", "h2"]
    deliveries.finish(first, acknowledged=[first[0]])  # a applied, b failed
    late, done = deliveries.claim([record("a", "h5"), record("b", "h6")])
    assert [r.message_id for r in late] == ["b"]  # a failed message is tried again
    assert [(r.message_id, r.receipt_handle) for r in done] == [("a", "h5")]  # deleted, not re-applied
