"""`EventBatch` through its Python API: failures classified, several config entries, deletes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.fetchers import fetcher_for
from port_aws_exporter.core.config import load_config
from port_aws_exporter.core.installation import Installation
from port_aws_exporter.core.jq.worker import TimeLimitedJq
from port_aws_exporter.events.batch import EventBatch, EventOptions
from port_aws_exporter.events.records import EntityRef, SqsRecord
from port_aws_exporter.local.aws import RunningLocalAws
from port_aws_exporter.local.catalog import RunningCatalog
from port_aws_exporter.port import PortClient
from tests.fixtures.local_catalog import CATALOG_INSTALLATION, make_port_client

REGION = "us-east-1"


def message(identifier: str, action: str = "upsert", kind: str = "AWS::Lambda::Function") -> str:
    return json.dumps(
        {"resource_type": kind, "region": f'"{REGION}"', "identifier": json.dumps(identifier), "action": f'"{action}"'}
    )


def blueprint(identifier: str, **properties: str) -> dict[str, Any]:
    schema = {name: {"type": kind} for name, kind in properties.items()}
    return {"identifier": identifier, "title": identifier, "schema": {"properties": schema, "required": []}}


def function_entry(blueprint_id: str, **extra: Any) -> dict[str, Any]:
    mapping = {"identifier": ".FunctionName", "blueprint": blueprint_id, "properties": {"memory": ".MemorySize"}}
    return {"kind": "AWS::Lambda::Function", "port": {"entity": {"mappings": [mapping]}}, **extra}


@pytest.fixture
def clients(aws_env: dict[str, str]) -> AwsClients:
    """AWS clients on the local endpoint that give up at once (no botocore retries)."""
    return AwsClients(max_attempts=1)


@pytest.fixture
def make_batch(
    clients: AwsClients, port_client: PortClient, jq_evaluator: TimeLimitedJq, catalog_installation: Installation
) -> Iterator[Callable[..., EventBatch]]:
    def make(config: dict[str, Any], **options: Any) -> EventBatch:
        return EventBatch(
            load_config(config),
            lambda spec: fetcher_for(spec, clients),
            port_client,
            jq_evaluator,
            EventOptions(**options),
            owned_entities_query=catalog_installation.owned_entities_query,
        )

    yield make


def test_every_config_entry_of_the_kind_applies(
    fresh_local_aws: RunningLocalAws, port_client: PortClient, make_batch: Callable[..., EventBatch]
) -> None:
    port_client.apply_blueprint(blueprint("small", memory="number"))
    port_client.apply_blueprint(blueprint("all", memory="number"))
    small = function_entry("small", selector={"query": ".MemorySize < 1024"})
    batch = make_batch({"resources": [small, function_entry("all")]})
    [name] = fresh_local_aws.bulk_create_lambda_functions(1, prefix="both")

    result = batch.process_message(message(name))

    assert (result.error, result.skipped) == (None, None)
    assert result.written == [EntityRef("small", name), EntityRef("all", name)]
    assert result.as_dict() == {
        "action": "upsert",
        "region": REGION,
        "identifier": name,
        "written": [{"blueprint": "small", "identifier": name}, {"blueprint": "all", "identifier": name}],
        "deleted": [],
        "skipped": None,
        "error": None,
    }

    deleted = batch.process_message(message(name, "delete"), receive_count=1)
    assert deleted.error is not None and "still exists" in deleted.error  # the guard: the function is there


def test_delete_removes_every_blueprint_and_an_entity_already_gone_is_success(
    fresh_local_aws: RunningLocalAws, port_client: PortClient, make_batch: Callable[..., EventBatch]
) -> None:
    port_client.apply_blueprint(blueprint("fn", memory="number"))
    port_client.apply_blueprint(blueprint("fn_copy", memory="number"))
    batch = make_batch({"resources": [function_entry("fn"), function_entry("fn_copy")]})
    for target in ("fn", "fn_copy"):
        port_client.upsert_entity(target, {"identifier": "retired", "properties": {}})

    first = batch.process_message(message("retired", "delete"))
    again = batch.process_message(message("retired", "delete"))

    assert (first.error, first.skipped) == (None, None)
    assert first.deleted == [EntityRef("fn", "retired"), EntityRef("fn_copy", "retired")]
    assert (again.error, again.deleted) == (None, [])
    assert again.skipped == "nothing to delete: fn/retired, fn_copy/retired not in the catalog"


def test_a_throttled_read_is_a_transient_failure_and_access_denied_a_permanent_one(
    fresh_local_aws: RunningLocalAws, port_client: PortClient, make_batch: Callable[..., EventBatch]
) -> None:
    port_client.apply_blueprint(blueprint("fn", memory="number"))
    batch = make_batch({"resources": [function_entry("fn")]})
    names = fresh_local_aws.bulk_create_lambda_functions(2, prefix="faulty")

    fresh_local_aws.faults.fail("CloudApiService.GetResource", code="ThrottlingException", count=1)
    throttled = batch.process_message(message(names[0]))
    fresh_local_aws.faults.fail("CloudApiService.GetResource", code="AccessDeniedException", count=1)
    denied = batch.process_message(message(names[1]))

    assert throttled.transient is True and throttled.error is not None
    assert throttled.error.startswith(f"reading AWS::Lambda::Function {names[0]} in us-east-1 failed: Throttling")
    assert denied.transient is False and denied.error is not None and "AccessDeniedException" in denied.error
    assert port_client.get_entity("fn", names[0]) is None


def test_a_write_port_refuses_fails_the_message_and_says_why(
    fresh_local_aws: RunningLocalAws, make_batch: Callable[..., EventBatch]
) -> None:
    batch = make_batch({"resources": [function_entry("no_such_blueprint")]})
    [name] = fresh_local_aws.bulk_create_lambda_functions(1, prefix="refused")

    result = batch.process_message(message(name))

    assert result.transient is False and result.error is not None
    assert result.error.startswith(f"writing no_such_blueprint/{name} failed:")


def test_a_mapping_that_fails_fails_the_message_but_the_others_are_written(
    fresh_local_aws: RunningLocalAws, port_client: PortClient, make_batch: Callable[..., EventBatch]
) -> None:
    port_client.apply_blueprint(blueprint("fn", memory="number"))
    broken = function_entry("fn")
    broken["port"]["entity"]["mappings"][0]["identifier"] = ".Nope"
    batch = make_batch({"resources": [function_entry("fn"), broken]})
    [name] = fresh_local_aws.bulk_create_lambda_functions(1, prefix="mapped")

    result = batch.process_message(message(name))

    assert result.written == [EntityRef("fn", name)]
    assert result.transient is False and result.error is not None
    assert "resources[1].port.entity.mappings[0].identifier" in result.error


def test_a_selector_that_filters_the_resource_out_is_a_skip(
    fresh_local_aws: RunningLocalAws, port_client: PortClient, make_batch: Callable[..., EventBatch]
) -> None:
    port_client.apply_blueprint(blueprint("fn", memory="number"))
    batch = make_batch({"resources": [function_entry("fn", selector={"query": ".MemorySize > 4096"})]})
    [name] = fresh_local_aws.bulk_create_lambda_functions(1, prefix="small")

    result = batch.process_message(message(name))

    assert (result.error, result.written) == (None, [])
    assert result.skipped == (
        f"no entity to write for AWS::Lambda::Function {name} in us-east-1: selector.query of resources[0] "
        "filtered it out"
    )


def test_records_and_counters(
    fresh_local_aws: RunningLocalAws, port_client: PortClient, make_batch: Callable[..., EventBatch]
) -> None:
    port_client.apply_blueprint(blueprint("fn", memory="number"))
    batch = make_batch({"resources": [function_entry("fn")]})
    names = fresh_local_aws.bulk_create_lambda_functions(3, prefix="count")
    records = [SqsRecord(f"id-{n}", message(name)) for n, name in enumerate(names * 2)]
    records.append(SqsRecord("", "{}"))

    outcome = batch.process(records)

    assert outcome.batch_item_failures() == {"batchItemFailures": [{"itemIdentifier": ""}]}
    assert [result.outcome for result in outcome.results] == ["skipped"] * 3 + ["applied"] * 3 + ["failed"]
    assert batch.counters.snapshot() == {
        "batches": 1,
        "messages": 7,
        "resources": 3,
        "reads": 3,
        "upsert_requests": 1,
        "delete_requests": 0,
        "unchanged": 0,
        "ignored": 0,
    }


def test_a_delete_leaves_an_entity_another_installation_owns_and_says_so(
    fresh_local_aws: RunningLocalAws,
    port_client: PortClient,
    local_catalog: RunningCatalog,
    make_batch: Callable[..., EventBatch],
) -> None:
    port_client.apply_blueprint(blueprint("fn", memory="number"))
    batch = make_batch({"resources": [function_entry("fn")]})
    port_client.upsert_entity("fn", {"identifier": "ours", "properties": {}})
    # The same account's exporter for another region, and another account's: the full sync never
    # touches their entities, and neither does an event.
    for installation in (Installation("123456789012", "eu-west-1"), Installation("999999999999", "us-east-1")):
        with make_port_client(local_catalog, installation) as theirs:
            theirs.upsert_entity("fn", {"identifier": f"theirs-{installation.region}", "properties": {}})

    outcome = batch.process(
        [SqsRecord(f"m{n}", message(name, "delete")) for n, name in enumerate(["ours", "theirs-eu-west-1"])]
    )
    ours, refused = outcome.results
    alone = batch.process_message(message("theirs-us-east-1", "delete"))

    assert (ours.error, ours.skipped, ours.deleted) == (None, None, [EntityRef("fn", "ours")])
    for result, name in ((refused, "theirs-eu-west-1"), (alone, "theirs-us-east-1")):
        assert (result.error, result.deleted, result.dropped, result.acknowledged) == (None, [], True, True)
        assert result.skipped is not None and result.skipped.startswith(
            f"not deleted: fn/{name} belongs to another installation or integration"
        )
    assert sorted(entity["identifier"] for entity in port_client.iter_blueprint_entities("fn")) == [
        "theirs-eu-west-1",
        "theirs-us-east-1",
    ]


def test_a_batch_s_jq_time_is_bounded_as_a_whole(
    fresh_local_aws: RunningLocalAws, port_client: PortClient, clients: AwsClients
) -> None:
    port_client.apply_blueprint(blueprint("fn", memory="number"))
    [name] = fresh_local_aws.bulk_create_lambda_functions(1, prefix="patient")
    runaway = json.dumps(
        {"resource_type": "AWS::Lambda::Function", "region": f'"{REGION}"', "identifier": "def f: f; f"}
    )
    records = [SqsRecord("valid", message(name))] + [SqsRecord(f"runaway-{n}", runaway) for n in range(8)]
    with TimeLimitedJq(timeout_seconds=0.5) as evaluator:
        batch = EventBatch(
            load_config({"resources": [function_entry("fn")]}),
            lambda spec: fetcher_for(spec, clients),
            port_client,
            evaluator,
            EventOptions(jq_batch_seconds=1.0),
            owned_entities_query=CATALOG_INSTALLATION.owned_entities_query,
        )
        valid, *runaways = batch.process(records).results

    assert (valid.error, valid.written) == (None, [EntityRef("fn", name)])  # evaluated, read and written
    assert all(result.error is not None for result in runaways)
    # A runaway that had its whole time limit is refused for good; the others were cut short or not
    # run because the batch's 1 s was spent: not their fault, they come back.
    timed_out = [r for r in runaways if not r.transient]
    assert 1 <= len(timed_out) <= 2
    assert all(r.error == "region, identifier: jq evaluation exceeded its time limit of 0.5 s" for r in timed_out)
    cut = [r for r in runaways if r.transient]
    assert len(cut) >= 6
    assert all("the batch's jq time was spent on other messages" in (r.error or "") for r in cut)
    assert cut[-1].error == (
        "not evaluated: the batch's jq time was spent on other messages; the message comes back to be evaluated again"
    )
