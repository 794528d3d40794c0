"""Every request the Port client sends, and every answer the local catalog gives it, against Port's document.

Each test drives the real `PortClient` (and, in the last one, a whole full sync) through the
catalog behind the `ContractRecorder`; the `contract` fixture fails a test on any disagreement:
a request the document refuses, an answer it does not describe, or a route it lacks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.fetchers import fetcher_for
from port_aws_exporter.cli.demo import DEMO_REGIONS, apply_example_blueprints
from port_aws_exporter.core.config import load_config
from port_aws_exporter.core.installation import Installation
from port_aws_exporter.local.aws import SeedSummary
from port_aws_exporter.port import PortApiError, PortClient
from port_aws_exporter.sync.full_sync import FullSync, SyncOptions
from tests.contract.port_openapi import ContractRecorder

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

CLUSTER: dict[str, Any] = {
    "identifier": "cluster",
    "title": "Cluster",
    "schema": {"properties": {"size": {"type": "number"}, "arn": {"type": "string"}}, "required": []},
    "relations": {},
}
SERVICE: dict[str, Any] = {
    "identifier": "service",
    "title": "Service",
    "schema": {"properties": {"memory": {"type": "number"}}, "required": []},
    "relations": {"cluster": {"target": "cluster", "required": False, "many": False}},
}


def _cluster(index: int, **properties: Any) -> dict[str, Any]:
    return {"identifier": f"c-{index:03d}", "title": f"Cluster {index}", "properties": {"size": index, **properties}}


def test_blueprint_routes(port_client: PortClient, contract: ContractRecorder) -> None:
    assert port_client.get_blueprint("cluster") is None
    port_client.create_blueprint(CLUSTER)
    assert port_client.apply_blueprint({**CLUSTER, "title": "Clusters"}).created is False
    assert port_client.apply_blueprint(SERVICE).created is True
    assert {blueprint["identifier"] for blueprint in port_client.list_blueprints()} == {"cluster", "service"}
    assert port_client.update_blueprint("service", {**SERVICE, "title": "Services"})["title"] == "Services"
    assert port_client.delete_blueprint("service") is True
    assert port_client.delete_blueprint("service") is False


def test_entity_writes_reads_and_deletes(port_client: PortClient, contract: ContractRecorder) -> None:
    port_client.create_blueprint(CLUSTER)
    port_client.create_blueprint(SERVICE)
    clusters = [_cluster(index) for index in range(25)]
    clusters[4]["properties"]["size"] = "big"  # the blueprint's business: a 207 for this one
    clusters[7]["identifier"] = "bad id"  # the route schema's: never sent
    clusters[9]["title"] = None  # left out of the body, as Port's schema has no null title
    results = port_client.bulk_upsert("cluster", clusters)
    assert [result.identifier for result in results if not result.ok] == ["c-004", "bad id"]
    port_client.bulk_upsert("cluster", [{"identifier": "c-001", "properties": {"arn": "arn:1"}}], merge=True)
    port_client.bulk_upsert("cluster", [_cluster(1)], merge=False)
    entity = port_client.upsert_entity("service", {"identifier": "s-1", "relations": {"cluster": "c-001"}})
    assert entity["relations"] == {"cluster": "c-001"}
    port_client.upsert_entity(
        "service", {"identifier": "s-2", "relations": {"cluster": "c-new"}}, create_missing_related_entities=True
    )
    with pytest.raises(PortApiError) as refused:
        port_client.upsert_entity("service", {"identifier": "s-3", "properties": {"memory": "lots"}})
    assert refused.value.status == 422
    assert port_client.get_entity("service", "s-1") is not None
    assert port_client.get_entity("service", "ghost") is None

    mine = Installation("123456789012", "us-east-1").owned_entities_query
    found = port_client.search_entities(mine, include=["identifier", "blueprint"], exclude=["properties"])
    assert {entity["identifier"] for entity in found} >= {"c-000", "s-1"}
    query = {"combinator": "and", "rules": [{"property": "size", "operator": ">=", "value": 10}]}
    paged = list(port_client.iter_blueprint_entities("cluster", query, include=["$identifier"], page_size=4))
    assert len(paged) == 15
    assert len(list(port_client.iter_blueprint_entities("cluster"))) == 24

    with pytest.raises(PortApiError) as has_dependents:
        port_client.bulk_delete("cluster", ["c-001"], delete_dependents=False)
    assert (has_dependents.value.status, has_dependents.value.error) == (403, "has_dependents")
    assert port_client.delete_entity("service", "s-1", delete_dependents=False) is True
    assert port_client.delete_entity("service", "s-1") is False
    assert sorted(port_client.bulk_delete("cluster", ["c-002", "c-003", "ghost"])) == ["c-002", "c-003"]
    port_client.delete_all_entities("service")


def test_a_full_sync_and_its_stale_deletion(
    aws_env: dict[str, str],
    demo_world: SeedSummary,
    port_client: PortClient,
    catalog_installation: Installation,
    aws_client: Any,
    contract: ContractRecorder,
) -> None:
    """The full sync's own requests: bulk upserts in relation order, the owned-entities search
    with `$identifier`/`$updatedAt`, and the bulk delete of what disappeared from AWS."""
    apply_example_blueprints(port_client, EXAMPLES, DEMO_REGIONS)
    config = load_config(EXAMPLES / "config.json")
    clients = AwsClients(max_attempts=2)

    def run() -> Any:
        return FullSync(
            config,
            lambda spec: fetcher_for(spec, clients),
            port_client,
            catalog_installation.owned_entities_query,
            SyncOptions(default_region="us-east-1"),
        ).run()

    first = run()
    assert first.report.written > 0
    queue = demo_world.names("AWS::SQS::Queue", "us-east-1")[0]
    sqs = aws_client("sqs", "us-east-1")
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=queue)["QueueUrl"])
    second = run()
    assert second.report.deleted >= 1
