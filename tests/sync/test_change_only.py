"""Change-only full sync: a run writes only the entities that are new or differ from the catalog."""

from __future__ import annotations

import datetime
from typing import Any

import httpx
import pytest

from port_aws_exporter.core.config import ExporterConfig, load_config
from port_aws_exporter.core.installation import Installation
from port_aws_exporter.local.aws import RunningLocalAws
from port_aws_exporter.local.catalog import RunningCatalog
from port_aws_exporter.port import PortClient
from tests.fixtures.local_catalog import make_port_client
from tests.sync.conftest import SyncRunner, entities_by_id

BLUEPRINT = "ccFunction"
RUNTIMES = "ccRuntime"
FUNCTIONS = 500


def _config(**extra_properties: str) -> ExporterConfig:
    mapping = {
        "identifier": ".FunctionName",
        "title": ".FunctionName",
        "blueprint": BLUEPRINT,
        "properties": {"arn": ".Arn", "memorySize": ".MemorySize", "description": ".Description", **extra_properties},
        "relations": {"runtime": ".Runtime"},
    }
    return load_config(
        {
            "resources": [
                {
                    "kind": "AWS::Lambda::Function",
                    "selector": {"aws": {"regions": ["us-east-1"]}},
                    "port": {"entity": {"mappings": [mapping]}},
                }
            ]
        }
    )


@pytest.fixture
def functions(fresh_local_aws: RunningLocalAws, example_catalog: PortClient) -> list[str]:
    """500 functions in AWS; the blueprints they map to, and the runtimes they relate to, in the catalog."""
    example_catalog.apply_blueprint({"identifier": RUNTIMES, "title": "Runtime", "schema": {"properties": {}}})
    example_catalog.apply_blueprint(
        {
            "identifier": BLUEPRINT,
            "title": "Function",
            "schema": {
                "properties": {
                    "arn": {"type": "string"},
                    "memorySize": {"type": "number"},
                    "description": {"type": "string"},
                    "timeout": {"type": "number"},
                }
            },
            "relations": {"runtime": {"target": RUNTIMES, "many": False, "required": False}},
        }
    )
    runtimes: list[dict[str, Any]] = [{"identifier": name, "properties": {}} for name in ("python3.12", "nodejs20.x")]
    assert all(result.ok for result in example_catalog.bulk_upsert(RUNTIMES, runtimes))
    return fresh_local_aws.bulk_create_lambda_functions(FUNCTIONS, prefix="cc")


def _requests(catalog: RunningCatalog) -> dict[str, int]:
    stats = httpx.get(f"{catalog.url}/_local/stats").json()["stats"]
    return {operation: row["requests"] for operation, row in stats.items() if operation != "total"}


def _clear_requests(catalog: RunningCatalog) -> None:
    httpx.delete(f"{catalog.url}/_local/stats").raise_for_status()


def _updated_since(port: PortClient, moment: datetime.datetime) -> set[str]:
    """The entities of the blueprint whose `updatedAt` is at or after `moment`."""
    found = set()
    for entity in port.iter_blueprint_entities(BLUEPRINT, include=["$identifier", "$updatedAt"]):
        updated = datetime.datetime.fromisoformat(entity["updatedAt"].replace("Z", "+00:00"))
        if updated >= moment:
            found.add(entity["identifier"])
    return found


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def test_a_second_sync_of_an_unchanged_estate_writes_nothing(
    functions: list[str], run_sync: SyncRunner, example_catalog: PortClient, local_catalog: RunningCatalog
) -> None:
    first = run_sync(_config()).report
    assert (first.created, first.updated, first.unchanged, first.written) == (FUNCTIONS, 0, 0, FUNCTIONS)
    _clear_requests(local_catalog)
    started = _now()

    second = run_sync(_config()).report

    assert (second.created, second.updated, second.unchanged, second.written) == (0, 0, FUNCTIONS, 0)
    requests = _requests(local_catalog)
    assert "bulk_write" not in requests and "bulk_delete" not in requests
    # The owned entities read once (one page of 1000), for the comparison and the stale deletion.
    assert requests["search_blueprint"] == 1
    assert _updated_since(example_catalog, started) == set()
    assert second.deleted == 0 and second.deletion_skipped == {}
    kinds = second.as_dict()["kinds"]
    assert [(kind["created"], kind["updated"], kind["unchanged"]) for kind in kinds] == [(0, 0, FUNCTIONS)]
    assert (second.as_dict()["created"], second.as_dict()["unchanged"]) == (0, FUNCTIONS)


def test_changing_5_of_500_resources_writes_exactly_those_5(
    functions: list[str],
    run_sync: SyncRunner,
    example_catalog: PortClient,
    local_catalog: RunningCatalog,
    aws_client: Any,
) -> None:
    run_sync(_config())
    changed = functions[100:105]
    lambda_ = aws_client("lambda")
    for name in changed:
        lambda_.update_function_configuration(FunctionName=name, MemorySize=512)
    _clear_requests(local_catalog)
    started = _now()

    report = run_sync(_config()).report

    assert (report.created, report.updated, report.unchanged, report.written) == (0, 5, FUNCTIONS - 5, 5)
    assert _requests(local_catalog)["bulk_write"] == 1  # five entities: one bulk request
    assert _updated_since(example_catalog, started) == set(changed)
    entities = entities_by_id(example_catalog, BLUEPRINT)
    assert {entities[name]["properties"]["memorySize"] for name in changed} == {512}


def test_a_property_removed_in_aws_is_written_as_null(
    functions: list[str], run_sync: SyncRunner, example_catalog: PortClient, aws_client: Any
) -> None:
    lambda_ = aws_client("lambda")
    name = functions[7]
    lambda_.update_function_configuration(FunctionName=name, Description="the billing worker")
    run_sync(_config())
    assert entities_by_id(example_catalog, BLUEPRINT)[name]["properties"]["description"] == "the billing worker"
    # Cloud Control leaves an empty description out: the mapping sends the property as null, and
    # merge would otherwise keep the old text.
    lambda_.update_function_configuration(FunctionName=name, Description="")

    report = run_sync(_config()).report

    assert (report.updated, report.written) == (1, 1)
    assert entities_by_id(example_catalog, BLUEPRINT)[name]["properties"].get("description") is None


def test_a_relation_change_is_written(
    functions: list[str], run_sync: SyncRunner, example_catalog: PortClient, aws_client: Any
) -> None:
    run_sync(_config())
    name = functions[42]
    aws_client("lambda").update_function_configuration(FunctionName=name, Runtime="nodejs20.x")

    report = run_sync(_config()).report

    assert (report.updated, report.written) == (1, 1)
    assert entities_by_id(example_catalog, BLUEPRINT)[name]["relations"]["runtime"] == "nodejs20.x"


def test_an_entity_edited_by_hand_in_the_catalog_is_rewritten(
    functions: list[str],
    run_sync: SyncRunner,
    example_catalog: PortClient,
    local_catalog: RunningCatalog,
    catalog_installation: Installation,
) -> None:
    run_sync(_config())
    edited, retitled, other_field = functions[3], functions[4], functions[5]
    # Edits through this installation's own User-Agent, so the entities stay its own: the
    # comparison, not the ownership, must find them.
    with make_port_client(local_catalog, catalog_installation) as hand:
        hand.upsert_entity(BLUEPRINT, {"identifier": edited, "properties": {"memorySize": 4096}})
        hand.upsert_entity(BLUEPRINT, {"identifier": retitled, "title": "renamed by hand", "properties": {}})
        # A property the mapping does not send: merge leaves it, so the entity is unchanged.
        hand.upsert_entity(BLUEPRINT, {"identifier": other_field, "properties": {"timeout": 99}})
    # And one edited by someone else (its `$datasource` is no longer this installation's).
    with make_port_client(local_catalog, None) as someone:
        someone.upsert_entity(BLUEPRINT, {"identifier": functions[6], "properties": {"arn": "arn:by-hand"}})

    report = run_sync(_config()).report

    assert (report.created, report.updated, report.written) == (1, 2, 3)
    entities = entities_by_id(example_catalog, BLUEPRINT)
    assert entities[edited]["properties"]["memorySize"] == 128
    assert entities[retitled]["title"] == retitled
    assert entities[functions[6]]["properties"]["arn"].endswith(f":function:{functions[6]}")
    assert entities[other_field]["properties"]["timeout"] == 99


def test_stale_deletion_after_a_change_only_sync_deletes_exactly_what_is_gone(
    functions: list[str], run_sync: SyncRunner, example_catalog: PortClient, aws_client: Any
) -> None:
    run_sync(_config())
    lambda_ = aws_client("lambda")
    gone = functions[10:13]
    for name in gone:
        lambda_.delete_function(FunctionName=name)
    lambda_.update_function_configuration(FunctionName=functions[20], MemorySize=256)
    dry = run_sync(_config(), dry_run=True).report
    assert dry.changes[BLUEPRINT].as_dict() == {
        "create": 0,
        "update": 1,
        "unchanged": FUNCTIONS - 4,
        "delete": sorted(gone),
    }

    report = run_sync(_config()).report

    # The unchanged entities were not written this run, and are older than it: seen, not stale.
    assert (report.written, report.unchanged, report.deleted, report.deletion_skipped) == (1, FUNCTIONS - 4, 3, {})
    assert sorted(entities_by_id(example_catalog, BLUEPRINT)) == sorted(set(functions) - set(gone))


def test_write_all_rewrites_every_entity_and_reports_what_was_already_as_mapped(
    functions: list[str], run_sync: SyncRunner, example_catalog: PortClient, local_catalog: RunningCatalog
) -> None:
    run_sync(_config())
    _clear_requests(local_catalog)
    started = _now()

    report = run_sync(_config(), write_all=True).report

    assert (report.written, report.unchanged, report.created, report.updated) == (FUNCTIONS, FUNCTIONS, 0, 0)
    assert _requests(local_catalog)["bulk_write"] == FUNCTIONS // 20
    assert _updated_since(example_catalog, started) == set(functions)


def test_a_new_property_in_the_mapping_rewrites_every_entity(
    functions: list[str], run_sync: SyncRunner, example_catalog: PortClient
) -> None:
    run_sync(_config())

    report = run_sync(_config(timeout=".Timeout")).report

    assert (report.updated, report.unchanged) == (FUNCTIONS, 0)
    assert {entity["properties"]["timeout"] for entity in entities_by_id(example_catalog, BLUEPRINT).values()} == {3}
    assert run_sync(_config(timeout=".Timeout")).report.unchanged == FUNCTIONS
