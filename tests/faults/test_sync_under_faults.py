"""The full sync under faults: whatever fails, no entity of a resource that exists is deleted, and a
clean run afterwards leaves the catalog equal to AWS.

A world of Lambda functions and SQS queues in two regions, synced clean once; then resources are
deleted in AWS (their entities become stale) and syncs run with, in turn: Cloud Control throttling
and Port answering 429/5xx; a region whose listings are denied; reads that fail or answer "not
found" for resources the list just returned; listings that fail midway; a Port outage during the
writes (ridden out: the run succeeds and prunes); and `port-aws-exporter sync` killed with SIGKILL
midway. After each run every existing resource still has its entity; a clean rerun then leaves
exactly AWS's resources in the catalog.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Any

import boto3
import pytest

from port_aws_exporter.core.config import ExporterConfig, load_config
from port_aws_exporter.local.soak import FaultProfile, LambdaWorld, clear_faults, port_outage
from port_aws_exporter.sync.report import KindRegionReport
from tests.faults.conftest import FaultStack

pytestmark = pytest.mark.slow

REGIONS = ("us-east-1", "eu-west-1")
FUNCTIONS = {"us-east-1": 120, "eu-west-1": 60}
QUEUES = 8
QUEUE_BLUEPRINT = {
    "identifier": "soakQueue",
    "title": "Queue",
    "schema": {"properties": {"url": {"type": "string"}}, "required": []},
}


def _entry(kind: str, identifier: str, blueprint: str, properties: dict[str, str]) -> dict[str, Any]:
    mapping = {"identifier": identifier, "blueprint": blueprint, "properties": properties}
    return {"kind": kind, "selector": {"aws": {"regions": list(REGIONS)}}, "port": {"entity": {"mappings": [mapping]}}}


CONFIG: dict[str, Any] = {
    "resources": [
        _entry("AWS::Lambda::Function", ".FunctionName", "soakFunction", {"memory": ".MemorySize"}),
        _entry("AWS::SQS::Queue", ".QueueName", "soakQueue", {"url": ".QueueUrl"}),
    ]
}


class World:
    """The functions and queues of both regions, as AWS lists them."""

    def __init__(self, stack: FaultStack) -> None:
        self.stack = stack
        self.lambdas = {region: LambdaWorld(stack.aws.url, region) for region in REGIONS}
        self.sqs = {region: _client(stack, "sqs", region) for region in REGIONS}

    def build(self) -> None:
        for region, count in FUNCTIONS.items():
            self.lambdas[region].create(count, f"fn-{region}")
            for number in range(QUEUES):
                self.sqs[region].create_queue(QueueName=f"q{number}-{region}")

    def functions(self) -> set[str]:
        return {name for world in self.lambdas.values() for name in world.functions()}

    def queues(self) -> set[str]:
        return {
            url.rsplit("/", 1)[1] for client in self.sqs.values() for url in client.list_queues().get("QueueUrls", [])
        }

    def delete_function(self, region: str, name: str) -> None:
        self.lambdas[region].delete(name)

    def delete_queue(self, region: str, name: str) -> None:
        client = self.sqs[region]
        client.delete_queue(QueueUrl=client.get_queue_url(QueueName=name)["QueueUrl"])

    def catalog(self) -> tuple[set[str], set[str]]:
        port = self.stack.port
        return (
            {entity["identifier"] for entity in port.iter_blueprint_entities("soakFunction")},
            {entity["identifier"] for entity in port.iter_blueprint_entities("soakQueue")},
        )

    def assert_no_existing_resource_lost_its_entity(self, before: tuple[set[str], set[str]]) -> None:
        """Every entity of `before` (the catalog before a run) whose resource exists is still there."""
        functions, queues = self.catalog()
        lost = (before[0] & self.functions()) - functions, (before[1] & self.queues()) - queues
        assert lost == (set(), set()), lost

    def assert_catalog_equals_aws(self) -> None:
        assert self.catalog() == (self.functions(), self.queues())


def _client(stack: FaultStack, service: str, region: str) -> Any:
    return boto3.client(
        service, region_name=region, endpoint_url=stack.aws.url, aws_access_key_id="t", aws_secret_access_key="t"
    )


def test_no_entity_of_an_existing_resource_is_ever_deleted_and_a_clean_rerun_equals_aws(
    fault_stack: FaultStack,
) -> None:
    stack = fault_stack
    stack.port.apply_blueprint(QUEUE_BLUEPRINT)
    config = load_config(CONFIG)
    world = World(stack)
    world.build()
    clean = stack.sync(config).report
    assert clean.succeeded and clean.deleted == 0
    world.assert_catalog_equals_aws()

    # Stale entities for stale deletion to consider, in both kinds and both regions.
    world.delete_function("us-east-1", "fn-us-east-1-00003")
    world.delete_function("eu-west-1", "fn-eu-west-1-00007")
    world.delete_queue("eu-west-1", "q2-eu-west-1")

    faults = stack.aws.faults
    runs: dict[str, Any] = {}
    # 1. Throttling of Cloud Control (a burst), and Port answering 429 and 5xx.
    FaultProfile(cloudcontrol_throttle_probability=0).apply(stack.aws.url, stack.catalog.url)
    faults.fail("CloudApiService.GetResource", probability=0.1, count=15)
    faults.fail("CloudApiService.ListResources", probability=0.2, count=3)
    runs["throttled"] = _faulted_run(stack, world, config)
    # 2. A region whose listings are denied.
    faults.fail("CloudApiService.ListResources", code="AccessDeniedException", region="eu-west-1")
    runs["denied"] = denied = _faulted_run(stack, world, config)
    assert set(denied.deletion_skipped) == {"soakFunction", "soakQueue"}
    # 3. Reads that fail; then reads that say "not found" for resources the list just returned (and
    #    nothing else failing, so that stale deletion goes ahead).
    faults.fail("CloudApiService.GetResource", code="InternalFailure", status=400, probability=0.03)
    runs["reads"] = _faulted_run(stack, world, config)
    faults.fail("CloudApiService.GetResource", code="ResourceNotFoundException", probability=0.05)
    runs["not found"] = not_found = _faulted_run(stack, world, config)
    assert sum(kind.not_found for kind in not_found.kinds) > 0 and not_found.error_count == 0
    # 4. Listings that fail midway (a later page of a kind's listing).
    world.delete_function("us-east-1", "fn-us-east-1-00100")
    faults.fail("CloudApiService.ListResources", code="InternalFailure", status=400, probability=0.4)
    runs["lists"] = _faulted_run(stack, world, config)

    # 5. Port down for 5 s in the middle of the writes: ridden out, the run succeeds and prunes.
    outage = threading.Event()

    def start_outage(_: KindRegionReport) -> None:
        if not outage.is_set():
            outage.set()
            port_outage(stack.catalog.url, 5.0)

    ridden_out = stack.sync(config, on_progress=start_outage).report
    assert outage.is_set() and ridden_out.succeeded, ridden_out.as_dict()["errors"][:3]
    world.assert_catalog_equals_aws()

    # 6. The sync command killed with SIGKILL midway, then run again without faults.
    world.delete_function("eu-west-1", "fn-eu-west-1-00001")
    world.lambdas["us-east-1"].create(30, "late")
    faults.delay("CloudApiService.GetResource", latency_ms=50)  # slow enough to be caught midway
    config_path = stack.write_config(CONFIG)
    before = world.catalog()
    command = [sys.executable, "-m", "port_aws_exporter", "sync", "--config", str(config_path), "--json"]
    killed = subprocess.Popen(
        [*command, "--log-json"], env=stack.environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        assert killed.stderr is not None
        # Killed once the first kind and region is listed, read and written: well before stale deletion.
        for line in killed.stderr:
            if '"kind listed and read"' in line:
                break
    finally:
        killed.kill()
        killed.communicate(timeout=30)
    assert killed.returncode == -9
    world.assert_no_existing_resource_lost_its_entity(before)
    clear_faults(stack.aws.url, stack.catalog.url)
    rerun = subprocess.run(command, env=stack.environment, capture_output=True, text=True, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    report = json.loads(rerun.stdout)
    assert report["error_count"] == 0 and report["deletion_skipped"] == {} and report["deleted"] == 1
    world.assert_catalog_equals_aws()
    assert set(runs) == {"throttled", "denied", "reads", "not found", "lists"}


def _faulted_run(stack: FaultStack, world: World, config: ExporterConfig) -> Any:
    """One sync with the faults now set; they are cleared after it. Its report."""
    before = world.catalog()
    try:
        report = stack.sync(config).report
    finally:
        clear_faults(stack.aws.url, stack.catalog.url)
    world.assert_no_existing_resource_lost_its_entity(before)
    return report
