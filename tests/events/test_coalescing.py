"""Events write only what changed: an unchanged upsert is not sent again, and the worker coalesces a
burst of events about one resource across receives (`coalesce_seconds`, off by default).

Requests are counted where they arrive: the local catalog's `/_local/stats` and the local AWS's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.cli.event_session import EventSession, open_event_batch
from port_aws_exporter.core.config import EntityMapping
from port_aws_exporter.core.entity_changes import BlueprintShape
from port_aws_exporter.core.mapping import MappedEntity
from port_aws_exporter.events.batch import EventOptions
from port_aws_exporter.events.recent_writes import RecentWrites
from port_aws_exporter.events.worker import SqsWorker, WorkerOptions
from port_aws_exporter.lambda_runtime.events_invocation import EventsInvocation
from port_aws_exporter.local.aws import RunningLocalAws
from port_aws_exporter.local.catalog import RunningCatalog
from port_aws_exporter.port import PortClient
from tests.events.conftest import MessageFactory, examples, sqs_event
from tests.events.test_batches import catalog_requests, clear_catalog_stats
from tests.fixtures.event_queues import EventQueues, LambdaContext

UPDATE = "UpdateFunctionConfiguration20150331v2"
PROJECT = Path(__file__).resolve().parents[2]


def catalog_writes(catalog: RunningCatalog) -> dict[str, int]:
    return {op: n for op, n in catalog_requests(catalog).items() if op in ("bulk_write", "upsert", "delete")}


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
def running() -> Iterator[Callable[[SqsWorker], threading.Thread]]:
    started: list[tuple[SqsWorker, threading.Thread]] = []

    def run(worker: SqsWorker) -> threading.Thread:
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        started.append((worker, thread))
        return thread

    yield run
    for worker, thread in started:
        worker.stop()
        thread.join(timeout=30)


def send_apart(queues: EventQueues, bodies: list[str], pause: float) -> None:
    """One message at a time, `pause` apart: each comes in its own receive."""
    for body in bodies:
        queues.send(body)
        time.sleep(pause)


# -- within a batch, and batch after batch (the Lambda consumer, warm) ----------------------------


def test_a_batch_of_updates_of_one_function_writes_once_and_the_next_unchanged_batch_writes_nothing(
    fresh_local_aws: RunningLocalAws,
    local_catalog: RunningCatalog,
    events_lambda: EventsInvocation,
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
    aws_client: Callable[..., Any],
) -> None:
    port = catalog_with("lambda.blueprint.json")
    [name] = fresh_local_aws.bulk_create_lambda_functions(1, prefix="steady")
    clear_catalog_stats(local_catalog)

    assert events_lambda(sqs_event(*[seed_message(UPDATE, name)] * 7), LambdaContext()) == {"batchItemFailures": []}
    assert catalog_writes(local_catalog) == {"bulk_write": 1}

    # The same state again, in the next batch of the warm consumer: read, and not written twice.
    clear_catalog_stats(local_catalog)
    fresh_local_aws.server_stats.clear()
    assert events_lambda(sqs_event(*[seed_message(UPDATE, name)] * 3), LambdaContext()) == {"batchItemFailures": []}
    assert fresh_local_aws.stats()["requests"] == {"CloudApiService": 1}
    assert catalog_writes(local_catalog) == {}

    # A real change is written.
    aws_client("lambda").update_function_configuration(FunctionName=name, MemorySize=1024)
    assert events_lambda(sqs_event(seed_message(UPDATE, name)), LambdaContext()) == {"batchItemFailures": []}
    assert catalog_writes(local_catalog) == {"bulk_write": 1}
    entity = port.get_entity("lambda", name)
    assert entity is not None and entity["properties"]["memorySize"] == 1024


def test_an_unchanged_upsert_is_reported_applied_and_unchanged(
    fresh_local_aws: RunningLocalAws,
    local_catalog: RunningCatalog,
    session: EventSession,
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
) -> None:
    catalog_with("lambda.blueprint.json")
    [name] = fresh_local_aws.bulk_create_lambda_functions(1, prefix="twice")
    first = session.batch.process_message(seed_message(UPDATE, name))
    second = session.batch.process_message(seed_message(UPDATE, name))

    assert [ref.identifier for ref in first.written] == [name]
    assert (second.outcome, second.written, [ref.identifier for ref in second.unchanged]) == ("applied", [], [name])
    assert second.as_dict()["unchanged"] == [{"blueprint": "lambda", "identifier": name}]
    assert session.batch.counters.snapshot()["unchanged"] == 1


def test_after_a_delete_the_same_state_is_written_again(
    fresh_local_aws: RunningLocalAws,
    local_catalog: RunningCatalog,
    session: EventSession,
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
    aws_client: Callable[..., Any],
) -> None:
    port = catalog_with("lambda.blueprint.json")
    [name] = fresh_local_aws.bulk_create_lambda_functions(1, prefix="again")
    session.batch.process_message(seed_message(UPDATE, name))
    function = aws_client("lambda").get_function(FunctionName=name)["Configuration"]
    aws_client("lambda").delete_function(FunctionName=name)
    assert session.batch.process_message(seed_message("DeleteFunction20150331", name)).deleted
    fresh_local_aws.bulk_create_lambda_functions(1, prefix="again", memory_size=function["MemorySize"])

    again = session.batch.process_message(seed_message(UPDATE, name))

    assert ([ref.identifier for ref in again.written], again.unchanged) == ([name], [])
    assert port.get_entity("lambda", name) is not None


def test_remembering_is_off_with_zero_seconds(
    fresh_local_aws: RunningLocalAws,
    local_catalog: RunningCatalog,
    events_env: dict[str, str],
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
    shared_data: Path,
) -> None:
    catalog_with("lambda.blueprint.json")
    [name] = fresh_local_aws.bulk_create_lambda_functions(1, prefix="forgetful")
    config = examples(shared_data) / "lambda.mapping.json"
    options = EventOptions(unchanged_memory_seconds=0)
    with open_event_batch(config, local_catalog.credentials(), options=options) as opened:
        opened.batch.process_message(seed_message(UPDATE, name))
        clear_catalog_stats(local_catalog)
        opened.batch.process_message(seed_message(UPDATE, name))
    assert catalog_writes(local_catalog) == {"bulk_write": 1}


# -- the comparison of what was written (pure) ------------------------------------------------------


def test_what_a_write_leaves_unknown_is_written_again() -> None:
    """Two mappings of one blueprint send different properties: a write through one tells nothing
    of the properties only the other sends."""
    shape = BlueprintShape.of_mappings(
        [
            EntityMapping(identifier=".n", blueprint="fn", properties={"arn": ".a", "memory": ".m"}),
            EntityMapping(identifier=".n", blueprint="fn", properties={"arn": ".a", "runtime": ".r"}),
        ]
    )
    now = [0.0]
    recent = RecentWrites({"fn": shape}, seconds=60, clock=lambda: now[0])

    def entity(**properties: Any) -> MappedEntity:
        return MappedEntity("fn", {"identifier": "f1", "properties": properties}, "resources[0]")

    recent.wrote("acct", entity(arn="a1", memory=128))
    assert recent.unchanged("acct", entity(arn="a1", memory=128))
    assert not recent.unchanged("acct", entity(arn="a1", memory=256))
    assert not recent.unchanged("acct", entity(arn="a1", runtime="python3.12"))  # never written
    assert not recent.unchanged("other-account", entity(arn="a1", memory=128))

    recent.wrote("acct", entity(arn="a1", runtime="python3.12"))
    # `arn` changed in the first group's view only if it changed: it did not, so both are known.
    assert recent.unchanged("acct", entity(arn="a1", runtime="python3.12"))
    recent.wrote("acct", entity(arn="a2", runtime="python3.12"))
    assert not recent.unchanged("acct", entity(arn="a2", memory=128))  # its `memory` with a new arn: unknown

    now[0] = 61.0
    assert not recent.unchanged("acct", entity(arn="a2", runtime="python3.12"))  # forgotten after the window


# -- across receives (the worker's coalescing window) ----------------------------------------------


def test_a_burst_of_ten_across_receives_is_one_read_and_one_write_after_the_window(
    fresh_local_aws: RunningLocalAws,
    local_catalog: RunningCatalog,
    event_queues: Callable[..., EventQueues],
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
    session: EventSession,
    running: Callable[[SqsWorker], threading.Thread],
) -> None:
    port = catalog_with("lambda.blueprint.json")
    queues = event_queues(visibility_timeout=30)
    [name] = fresh_local_aws.bulk_create_lambda_functions(1, prefix="burst")
    options = WorkerOptions(queues.queue_url, concurrency=1, max_messages=1, wait_seconds=1, coalesce_seconds=4)
    worker = SqsWorker(session.batch.process, queues.sqs, options)
    fresh_local_aws.server_stats.clear()
    clear_catalog_stats(local_catalog)
    running(worker)

    send_apart(queues, [seed_message(UPDATE, name)] * 10, pause=0.1)
    # Held, not applied: every message is still in the queue (in flight) and nothing was written.
    wait_for(lambda: worker.stats.as_dict()["received"] == 10, what="the ten messages received")
    assert worker.stats.as_dict()["batches"] == 0
    assert queues.depth() == 10
    assert port.get_entity("lambda", name) is None

    wait_for(lambda: worker.stats.as_dict()["acknowledged"] == 10, what="the window applied")

    assert worker.stats.as_dict()["batches"] == 1
    assert catalog_writes(local_catalog) == {"bulk_write": 1}
    assert fresh_local_aws.stats()["requests"].get("CloudApiService") == 1
    assert port.get_entity("lambda", name) is not None
    wait_for(lambda: queues.depth() == 0, what="the applied messages deleted")


def test_a_delete_after_upserts_in_the_window_wins(
    fresh_local_aws: RunningLocalAws,
    local_catalog: RunningCatalog,
    event_queues: Callable[..., EventQueues],
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
    session: EventSession,
    running: Callable[[SqsWorker], threading.Thread],
    aws_client: Callable[..., Any],
) -> None:
    port = catalog_with("lambda.blueprint.json")
    queues = event_queues(visibility_timeout=30)
    [name] = fresh_local_aws.bulk_create_lambda_functions(1, prefix="doomed")
    assert session.batch.process_message(seed_message(UPDATE, name)).written
    aws_client("lambda").delete_function(FunctionName=name)
    options = WorkerOptions(queues.queue_url, concurrency=1, max_messages=1, wait_seconds=1, coalesce_seconds=4)
    worker = SqsWorker(session.batch.process, queues.sqs, options)
    clear_catalog_stats(local_catalog)
    running(worker)

    send_apart(queues, [*[seed_message(UPDATE, name)] * 3, seed_message("DeleteFunction20150331", name)], pause=0.1)
    wait_for(lambda: worker.stats.as_dict()["acknowledged"] == 4, what="the window applied")

    assert worker.stats.as_dict()["batches"] == 1
    assert port.get_entity("lambda", name) is None
    writes = catalog_writes(local_catalog)
    assert "bulk_write" not in writes and "upsert" not in writes


def test_coalescing_is_off_by_default_each_receive_is_applied_at_once(
    fresh_local_aws: RunningLocalAws,
    local_catalog: RunningCatalog,
    event_queues: Callable[..., EventQueues],
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
    session: EventSession,
    running: Callable[[SqsWorker], threading.Thread],
    aws_client: Callable[..., Any],
) -> None:
    catalog_with("lambda.blueprint.json")
    queues = event_queues(visibility_timeout=30)
    [name] = fresh_local_aws.bulk_create_lambda_functions(1, prefix="eager")
    options = WorkerOptions(queues.queue_url, concurrency=1, max_messages=1, wait_seconds=1)
    assert (options.coalescing, options.receive_visibility()) == (False, None)
    worker = SqsWorker(session.batch.process, queues.sqs, options)
    clear_catalog_stats(local_catalog)
    running(worker)

    queues.send(seed_message(UPDATE, name))
    wait_for(lambda: worker.stats.as_dict()["acknowledged"] == 1, what="the first message applied")
    aws_client("lambda").update_function_configuration(FunctionName=name, MemorySize=2048)
    queues.send(seed_message(UPDATE, name))
    wait_for(lambda: worker.stats.as_dict()["acknowledged"] == 2, what="the second message applied")

    assert worker.stats.as_dict()["batches"] == 2
    assert catalog_writes(local_catalog) == {"bulk_write": 2}


def test_held_messages_outlast_the_window_and_a_stop_applies_them(
    fresh_local_aws: RunningLocalAws,
    local_catalog: RunningCatalog,
    event_queues: Callable[..., EventQueues],
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
    session: EventSession,
    running: Callable[[SqsWorker], threading.Thread],
) -> None:
    port = catalog_with("lambda.blueprint.json")
    queues = event_queues(visibility_timeout=1)
    [name] = fresh_local_aws.bulk_create_lambda_functions(1, prefix="held")
    options = WorkerOptions(queues.queue_url, concurrency=1, wait_seconds=1, coalesce_seconds=60)
    assert options.receive_visibility() == 60 + 120  # the queue's 1 s would hand them out again
    worker = SqsWorker(session.batch.process, queues.sqs, options)
    thread = running(worker)
    queues.send(seed_message(UPDATE, name), seed_message(UPDATE, name))
    wait_for(lambda: worker.stats.as_dict()["received"] == 2, what="both messages received")
    time.sleep(2.0)  # past the queue's own visibility timeout
    assert worker.stats.as_dict()["received"] == 2  # not delivered again
    assert port.get_entity("lambda", name) is None

    worker.stop()
    thread.join(timeout=30)

    assert not thread.is_alive()
    assert worker.stats.as_dict()["acknowledged"] == 2
    assert port.get_entity("lambda", name) is not None
    assert queues.depth() == 0


def test_a_window_that_would_outlast_the_visibility_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match=r"visibility_timeout .* must outlast coalesce_seconds"):
        WorkerOptions("https://queue", visibility_timeout=30, coalesce_seconds=30)
    with pytest.raises(ValueError, match="coalesce_seconds must be 0"):
        WorkerOptions("https://queue", coalesce_seconds=-1)


def test_the_worker_command_takes_the_window_from_its_environment_and_refuses_one_too_long(tmp_path: Path) -> None:
    env = {**os.environ, "PORT_AWS_EXPORTER_COALESCE_SECONDS": "30"}
    args = ["--config", str(PROJECT / "examples" / "config.json"), "--local-catalog", "c.db"]
    command = [sys.executable, "-m", "port_aws_exporter", "worker", *args, "--queue-url", "https://q"]
    result = subprocess.run(
        [*command, "--visibility-timeout", "10"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1, result.stderr
    assert "must outlast coalesce_seconds (30 s)" in result.stderr
    assert "Traceback" not in result.stderr
