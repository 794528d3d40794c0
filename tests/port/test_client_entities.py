"""The client's entity and blueprint calls against the local catalog, over HTTP."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from port_aws_exporter.core.installation import Installation
from port_aws_exporter.local.catalog import RunningCatalog
from port_aws_exporter.port import PortApiError, PortClient
from tests.fixtures.local_catalog import make_port_client
from tests.port.conftest import SERVICE_BLUEPRINT, service


def test_bulk_upsert_writes_every_entity_in_20s(port_client: PortClient, service_blueprint: str) -> None:
    entities = [service(index, memory=index) for index in range(45)]
    results = port_client.bulk_upsert(service_blueprint, entities)
    assert [result.identifier for result in results] == [entity["identifier"] for entity in entities]
    assert all(result.ok for result in results)
    assert port_client.counters.requests["entity_bulk_upsert"] == 3
    stored = {entity["identifier"]: entity for entity in port_client.iter_blueprint_entities(service_blueprint)}
    assert len(stored) == 45
    assert stored["svc-00044"]["properties"]["memory"] == 44


def test_bulk_207_reports_exactly_the_failed_entities(port_client: PortClient, service_blueprint: str) -> None:
    entities = [service(index) for index in range(25)]
    entities[3]["properties"]["memory"] = "a lot"  # wrong type
    entities[17]["properties"]["runtime"] = "cobol"  # not in the enum
    entities[21]["identifier"] = "has space"  # bad identifier
    entities[24]["properties"]["undeclared"] = 1
    results = port_client.bulk_upsert(service_blueprint, entities)
    failed = {result.identifier: result for result in results if not result.ok}
    assert set(failed) == {"svc-00003", "svc-00017", "has space", "svc-00024"}
    assert all(failed[name].status == 422 for name in ("svc-00003", "svc-00017", "svc-00024"))
    assert not any(result.transient for result in failed.values())
    # Sent, "has space" would make Port refuse its whole request (422 for all 20): it fails alone.
    assert (failed["has space"].error, failed["has space"].status) == ("invalid_entity", None)
    assert "does not match Port's identifier pattern" in (failed["has space"].message or "")
    assert "memory" in (failed["svc-00003"].message or "")
    assert "cobol" in (failed["svc-00017"].message or "")
    written = {entity["identifier"] for entity in port_client.iter_blueprint_entities(service_blueprint)}
    assert written == {entity["identifier"] for entity in entities} - set(failed)


def test_bulk_upsert_merges_into_existing_entities(port_client: PortClient, service_blueprint: str) -> None:
    port_client.bulk_upsert(service_blueprint, [service(1, memory=128, runtime="python3.11")])
    port_client.bulk_upsert(service_blueprint, [{"identifier": "svc-00001", "properties": {"memory": 256}}])
    entity = port_client.get_entity(service_blueprint, "svc-00001")
    assert entity is not None
    assert entity["properties"] == {
        "arn": "arn:aws:lambda:us-east-1:123456789012:function:svc-1",
        "memory": 256,
        "runtime": "python3.11",
    }
    assert entity["title"] == "Service 1"


def test_bulk_upsert_into_a_missing_blueprint_fails_each_entity_permanently(port_client: PortClient) -> None:
    results = port_client.bulk_upsert("nope", [service(1), service(2)])
    assert [(result.ok, result.status, result.error, result.transient) for result in results] == [
        (False, 404, "not_found", False)
    ] * 2


def test_an_oversized_entity_is_reported_and_the_rest_written(port_client: PortClient, service_blueprint: str) -> None:
    huge = service(2, arn="x" * (1024 * 1024))
    results = port_client.bulk_upsert(service_blueprint, [service(1), huge, service(3)])
    assert [result.ok for result in results] == [True, False, True]
    assert results[1].error == "entity_too_large"


def test_upsert_get_delete_one_entity(port_client: PortClient, service_blueprint: str) -> None:
    stored = port_client.upsert_entity(service_blueprint, {**service(7), "blueprint": service_blueprint})
    assert stored["identifier"] == "svc-00007"
    assert stored["blueprint"] == service_blueprint
    assert port_client.get_entity(service_blueprint, "svc-00007") == stored
    assert port_client.delete_entity(service_blueprint, "svc-00007") is True
    assert port_client.delete_entity(service_blueprint, "svc-00007") is False
    assert port_client.get_entity(service_blueprint, "svc-00007") is None


def test_identifiers_with_slashes_and_unicode_round_trip(port_client: PortClient, service_blueprint: str) -> None:
    identifier = "arn:aws:ecs:us-east-1:123456789012:service/clüster/web=1"
    port_client.upsert_entity(service_blueprint, {"identifier": identifier, "properties": {}})
    entity = port_client.get_entity(service_blueprint, identifier)
    assert entity is not None
    assert entity["identifier"] == identifier
    assert port_client.bulk_delete(service_blueprint, [identifier]) == [identifier]


def test_upsert_error_carries_method_path_status_and_ports_message(
    port_client: PortClient, service_blueprint: str
) -> None:
    with pytest.raises(PortApiError) as raised:
        port_client.upsert_entity(service_blueprint, service(1, memory="x"))
    error = raised.value
    assert (error.method, error.path, error.status, error.error) == (
        "POST",
        "/v1/blueprints/service/entities",
        422,
        "blueprint_schema_mismatch",
    )
    assert "memory" in (error.message or "")
    assert error.transient is False
    assert "POST /v1/blueprints/service/entities" in str(error)


def test_bulk_delete_chunks_by_100(port_client: PortClient, service_blueprint: str) -> None:
    entities = [service(index) for index in range(230)]
    assert all(result.ok for result in port_client.bulk_upsert(service_blueprint, entities))
    doomed = [entity["identifier"] for entity in entities[:205]] + ["never-existed"]
    deleted = port_client.bulk_delete(service_blueprint, doomed)
    assert sorted(deleted) == sorted(doomed[:-1])
    assert port_client.counters.requests["entity_bulk_delete"] == 3
    left = [entity["identifier"] for entity in port_client.iter_blueprint_entities(service_blueprint)]
    assert left == [entity["identifier"] for entity in entities[205:]]


def test_paginated_listing_returns_every_match_once(port_client: PortClient, service_blueprint: str) -> None:
    port_client.bulk_upsert(service_blueprint, [service(index, memory=index % 3) for index in range(95)])
    query = {"combinator": "and", "rules": [{"property": "memory", "operator": "=", "value": 1}]}
    found = list(port_client.iter_blueprint_entities(service_blueprint, query, include=["$identifier"], page_size=10))
    assert found == [{"identifier": f"svc-{index:05d}"} for index in range(95) if index % 3 == 1]
    assert port_client.counters.requests["search_page"] == 4


def test_search_finds_only_this_installations_entities(
    local_catalog: RunningCatalog,
    port_client: PortClient,
    service_blueprint: str,
    catalog_installation: Installation,
) -> None:
    other_installation = Installation("123456789012", "eu-west-1")
    with make_port_client(local_catalog, other_installation) as other:
        other.bulk_upsert(service_blueprint, [service(index) for index in range(100, 103)])
    port_client.bulk_upsert(service_blueprint, [service(index) for index in range(3)])
    mine = port_client.search_entities(catalog_installation.owned_entities_query, include=["blueprint", "identifier"])
    assert mine == [{"blueprint": "service", "identifier": f"svc-{index:05d}"} for index in range(3)]
    theirs = port_client.search_entities(other_installation.owned_entities_query, include=["identifier"])
    assert [entity["identifier"] for entity in theirs] == [f"svc-{index:05d}" for index in range(100, 103)]


def test_blueprint_create_get_update_apply_delete(port_client: PortClient) -> None:
    assert port_client.get_blueprint("service") is None
    created = port_client.apply_blueprint(SERVICE_BLUEPRINT)
    assert created.created is True
    assert created.blueprint["schema"]["properties"]["arn"]["type"] == "string"
    changed = {**SERVICE_BLUEPRINT, "title": "Services"}
    updated = port_client.apply_blueprint(changed)
    assert (updated.created, updated.blueprint["title"]) == (False, "Services")
    assert port_client.get_blueprint("service")["title"] == "Services"  # type: ignore[index]
    assert [blueprint["identifier"] for blueprint in port_client.list_blueprints()] == ["service"]
    with pytest.raises(PortApiError) as raised:
        port_client.create_blueprint(SERVICE_BLUEPRINT)
    assert raised.value.status == 409
    assert port_client.delete_blueprint("service") is True
    assert port_client.delete_blueprint("service") is False


def test_apply_blueprint_without_identifier_is_refused_before_any_request(port_client: PortClient) -> None:
    with pytest.raises(ValueError, match="identifier"):
        port_client.apply_blueprint({"title": "x"})
    assert port_client.counters.total_requests == 0


def test_many_threads_share_one_client(port_client: PortClient, service_blueprint: str) -> None:
    def write(batch: int) -> list[bool]:
        entities = [service(batch * 100 + index) for index in range(30)]
        return [result.ok for result in port_client.bulk_upsert(service_blueprint, entities)]

    with ThreadPoolExecutor(6) as pool:
        outcomes = [ok for batch in pool.map(write, range(12)) for ok in batch]
    assert outcomes == [True] * 360
    assert len(list(port_client.iter_blueprint_entities(service_blueprint, page_size=1000))) == 360
    assert port_client.counters.auth_calls == 1
