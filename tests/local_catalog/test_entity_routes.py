from __future__ import annotations

from typing import Any

import httpx
import pytest

from port_aws_exporter.local.catalog import RunningCatalog
from tests.local_catalog.conftest import USER_AGENT, cluster

ENTITIES = "/v1/blueprints/cluster/entities"
UPSERT = {"upsert": "true"}
MERGE = {"upsert": "true", "merge": "true"}


def test_create_is_201_then_409(api: httpx.Client, blueprints: None) -> None:
    created = api.post(ENTITIES, json=cluster("c1", size=3))
    assert created.status_code == 201
    entity = created.json()["entity"]
    assert {key: entity[key] for key in ("identifier", "title", "blueprint", "team", "properties", "relations")} == {
        "identifier": "c1",
        "title": "C1",
        "blueprint": "cluster",
        "team": [],
        "properties": {"name": "c1", "size": 3},
        "relations": {},
    }
    assert entity["createdAt"] == entity["updatedAt"]
    again = api.post(ENTITIES, json=cluster("c1"))
    assert again.status_code == 409
    assert again.json()["ok"] is False


def test_upsert_overrides_and_merge_updates(api: httpx.Client, blueprints: None) -> None:
    api.post(ENTITIES, json=cluster("c1", size=3, state="ACTIVE"))
    merged = api.post(ENTITIES, params=MERGE, json={"identifier": "c1", "properties": {"size": 5}})
    assert merged.status_code == 200
    assert merged.json()["entity"]["properties"] == {"name": "c1", "size": 5, "state": "ACTIVE"}
    assert merged.json()["entity"]["title"] == "C1"
    overridden = api.post(ENTITIES, params=UPSERT, json={"identifier": "c1", "properties": {"name": "n"}})
    assert overridden.json()["entity"]["properties"] == {"name": "n"}
    assert "title" not in overridden.json()["entity"]  # unset: left out, as Port's schema has no null title
    stored = api.get(f"{ENTITIES}/c1").json()["entity"]
    assert stored["properties"] == {"name": "n"}
    assert stored["createdAt"] <= stored["updatedAt"]


@pytest.mark.parametrize(
    ("entity", "words"),
    [
        ({"identifier": "bad id", "properties": {"name": "x"}}, "identifier"),
        ({"identifier": "..", "properties": {"name": "x"}}, "identifier"),
        ({"identifier": "x" * 1001, "properties": {"name": "x"}}, "identifier"),
        ({"identifier": "c", "properties": {"name": 1}}, "'name' must be of type string"),
        ({"identifier": "c", "properties": {"name": "x", "size": "3"}}, "'size' must be of type number"),
        ({"identifier": "c", "properties": {"name": "x", "size": True}}, "'size' must be of type number"),
        ({"identifier": "c", "properties": {"name": "x", "state": "GONE"}}, "not one of"),
        ({"identifier": "c", "properties": {"name": "x", "console": "not a url"}}, "not a URL"),
        ({"identifier": "c", "properties": {"name": "x", "launched": "yesterday"}}, "date-time"),
        ({"identifier": "c", "properties": {"name": "x", "zones": ["a", "z"]}}, "'z'"),
        ({"identifier": "c", "properties": {"name": "x", "tags": []}}, "type object"),
        ({"identifier": "c", "properties": {"name": "x", "public": "yes"}}, "type boolean"),
        ({"identifier": "c", "properties": {"size": 1}}, "required properties ['name']"),
        ({"identifier": "c", "properties": {"name": "x", "ghost": 1}}, "'ghost' is not defined"),
        ({"identifier": "c", "properties": {"name": "x"}, "relations": {"ghost": "y"}}, "relation 'ghost'"),
        ({"identifier": "c", "properties": "flat"}, "properties must be an object"),
        ({"identifier": "c", "properties": {"name": "x"}, "team": 3}, "team"),
    ],
)
def test_entities_are_validated_against_the_blueprint(
    api: httpx.Client, blueprints: None, entity: dict[str, Any], words: str
) -> None:
    response = api.post(ENTITIES, params=MERGE, json=entity)
    assert response.status_code == 422, response.json()
    body = response.json()
    assert body["ok"] is False
    assert body["error"] in {
        "invalid_request",
        "blueprint_schema_mismatch",
        "required_relation",
        "relation_many_violation",
    }
    assert words in body["message"]


def test_valid_formats_and_types_are_accepted(api: httpx.Client, blueprints: None) -> None:
    entity = cluster(
        "ok",
        size=2.5,
        state="INACTIVE",
        console="https://console.aws.amazon.com/ecs/home?region=us-east-1",
        launched="2024-05-01T10:00:00Z",
        zones=["a", "c"],
        tags={"env": "prod"},
        public=False,
    )
    response = api.post(ENTITIES, params=MERGE, json={**entity, "team": "platform", "icon": "Cluster"})
    assert response.status_code == 201, response.json()
    assert response.json()["entity"]["team"] == ["platform"]


def test_merge_checks_required_properties_on_the_merged_entity(api: httpx.Client, blueprints: None) -> None:
    api.post(ENTITIES, json=cluster("c1"))
    assert api.post(ENTITIES, params=MERGE, json={"identifier": "c1", "properties": {"size": 1}}).status_code == 200
    response = api.post(ENTITIES, params=UPSERT, json={"identifier": "c1", "properties": {"size": 1}})
    assert response.status_code == 422


def test_relations_need_existing_targets_unless_asked_to_create_them(api: httpx.Client, blueprints: None) -> None:
    service = {"identifier": "web", "relations": {"cluster": "c9"}}
    missing = api.post("/v1/blueprints/service/entities", params=MERGE, json=service)
    assert missing.status_code == 404
    assert "'c9'" in missing.json()["message"]
    assert api.get(f"{ENTITIES}/c9").status_code == 404
    # cluster requires a 'name': a placeholder cannot be made for it
    refused = api.post(
        "/v1/blueprints/service/entities",
        params={**MERGE, "create_missing_related_entities": "true"},
        json=service,
    )
    assert refused.status_code == 422
    owner = {"identifier": "owner", "title": "Owner", "schema": {"properties": {}}}
    repo = {
        "identifier": "repo",
        "title": "Repo",
        "schema": {"properties": {}},
        "relations": {"owners": {"target": "owner", "many": True}},
    }
    api.post("/v1/blueprints", json=owner)
    api.post("/v1/blueprints", json=repo)
    created = api.post(
        "/v1/blueprints/repo/entities",
        params={**MERGE, "create_missing_related_entities": "true"},
        json={"identifier": "r", "relations": {"owners": ["alice", "bob"]}},
    )
    assert created.status_code == 201, created.json()
    assert api.get("/v1/blueprints/owner/entities/alice").json()["entity"]["properties"] == {}
    assert api.get("/v1/blueprints/owner/entities/bob").status_code == 200


def test_relation_cardinality_and_required_relations(api: httpx.Client, blueprints: None) -> None:
    api.post(ENTITIES, json=cluster("c1"))
    path = "/v1/blueprints/service/entities"
    many_as_string = api.post(
        path, params=MERGE, json={"identifier": "s", "relations": {"cluster": "c1", "peers": "x"}}
    )
    assert many_as_string.status_code == 422
    assert "must be a list" in many_as_string.json()["message"]
    one_as_list = api.post(path, params=MERGE, json={"identifier": "s", "relations": {"cluster": ["c1"]}})
    assert one_as_list.status_code == 422
    no_cluster = api.post(path, params=MERGE, json={"identifier": "s", "relations": {}})
    assert no_cluster.status_code == 422
    assert "required relations ['cluster']" in no_cluster.json()["message"]
    ok = api.post(path, params=MERGE, json={"identifier": "s", "relations": {"cluster": "c1", "peers": ["s"]}})
    assert ok.status_code == 201, ok.json()


def test_validation_only_writes_nothing(api: httpx.Client, blueprints: None) -> None:
    response = api.post(ENTITIES, params={**MERGE, "validation_only": "true"}, json=cluster("c1"))
    assert response.status_code == 201
    assert api.get(f"{ENTITIES}/c1").status_code == 404


def test_bad_query_flags_are_422(api: httpx.Client, blueprints: None) -> None:
    response = api.post(ENTITIES, params={"upsert": "maybe"}, json=cluster("c1"))
    assert response.status_code == 422
    assert "upsert" in response.json()["message"]


def test_bodies_over_1_mib_are_413(api: httpx.Client, blueprints: None) -> None:
    response = api.post(ENTITIES, params=MERGE, json=cluster("big", tags={"x": "y" * (1024 * 1024)}))
    assert response.status_code == 413
    assert response.json() == {
        "ok": False,
        "error": "payload_too_large",
        "message": "Request body is too large (limit is 1MiB)",
    }


def test_bulk_answers_200_with_indexes(api: httpx.Client, blueprints: None) -> None:
    response = api.post(f"{ENTITIES}/bulk", params=MERGE, json={"entities": [cluster("a"), cluster("b")]})
    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "entities": [
            {"created": True, "identifier": "a", "index": 0, "additionalData": {}},
            {"created": True, "identifier": "b", "index": 1, "additionalData": {}},
        ],
        "errors": [],
    }
    again = api.post(f"{ENTITIES}/bulk", params=MERGE, json={"entities": [cluster("a")]})
    assert again.json()["entities"][0]["created"] is False


def test_bulk_answers_207_with_each_blueprint_failure_and_keeps_the_rest(api: httpx.Client, blueprints: None) -> None:
    entities = [cluster("a"), {"identifier": "b", "properties": {"size": 1}}, cluster("c")]
    response = api.post(f"{ENTITIES}/bulk", params=MERGE, json={"entities": entities})
    assert response.status_code == 207
    body = response.json()
    assert body["ok"] is False
    assert [item["index"] for item in body["entities"]] == [0, 2]
    assert [(error["index"], error["identifier"], error["statusCode"], error["error"]) for error in body["errors"]] == [
        (1, "b", 422, "blueprint_schema_mismatch"),
    ]
    assert "required" in body["errors"][0]["message"]
    listed = api.get(ENTITIES).json()["entities"]
    assert [entity["identifier"] for entity in listed] == ["a", "c"]


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ({"identifier": "bad id"}, "entities[1].identifier 'bad id' does not match"),
        ("not an object", "entities[1]: an entity must be a JSON object"),
        ({"identifier": "b", "properties": ["flat"]}, "entities[1].properties must be an object"),
        ({"identifier": "b", "title": 3}, "entities[1].title must be a string"),
        ({"identifier": "b", "relations": {"cluster": 5}}, "entities[1].relations.cluster must be"),
        ({"identifier": "b", "relations": {"peers": ["ok", "not ok"]}}, "entities[1].relations.peers[1] 'not ok'"),
    ],
)
def test_bulk_route_schema_violations_fail_the_whole_request(
    api: httpx.Client, blueprints: None, bad: Any, words: str
) -> None:
    """Port's bulk route validates its body first: one entity outside the route's schema is a 422
    for all of them, and nothing is written."""
    entities = [cluster("a"), bad, cluster("c")]
    response = api.post(f"{ENTITIES}/bulk", params=MERGE, json={"entities": entities})
    assert response.status_code == 422, response.json()
    assert words in response.json()["message"]
    assert api.get(ENTITIES).json()["entities"] == []


def test_bulk_body_refuses_unknown_keys(api: httpx.Client, blueprints: None) -> None:
    response = api.post(f"{ENTITIES}/bulk", params=MERGE, json={"entities": [cluster("a")], "upsert": True})
    assert response.status_code == 422
    assert "'upsert'" in response.json()["message"]
    assert api.get(ENTITIES).json()["entities"] == []


def test_patch_body_refuses_unknown_keys_and_clears_a_title_with_null(api: httpx.Client, blueprints: None) -> None:
    api.post(ENTITIES, params=MERGE, json=cluster("a"))
    refused = api.patch(f"{ENTITIES}/a", json={"properties": {"size": 2}, "blueprint": "cluster"})
    assert refused.status_code == 422
    assert "'blueprint'" in refused.json()["message"]
    patched = api.patch(f"{ENTITIES}/a", json={"title": None, "properties": {"size": 2}})
    assert patched.status_code == 200, patched.json()
    assert patched.json()["entity"]["properties"]["size"] == 2


def test_relation_errors_carry_ports_codes(api: httpx.Client, blueprints: None) -> None:
    api.post(ENTITIES, params=MERGE, json=cluster("c1"))
    missing = api.post("/v1/blueprints/service/entities", params=MERGE, json={"identifier": "s1"})
    assert (missing.status_code, missing.json()["error"]) == (422, "required_relation")
    many = api.post(
        "/v1/blueprints/service/entities", params=MERGE, json={"identifier": "s1", "relations": {"cluster": ["c1"]}}
    )
    assert (many.status_code, many.json()["error"]) == (422, "relation_many_violation")
    single = api.post(
        "/v1/blueprints/service/entities",
        params=MERGE,
        json={"identifier": "s1", "relations": {"cluster": "c1", "peers": "s2"}},
    )
    assert (single.status_code, single.json()["error"]) == (422, "relation_many_violation")


def test_identifier_and_relations_given_as_search_queries(api: httpx.Client, blueprints: None) -> None:
    api.post(ENTITIES, params=MERGE, json=cluster("c1", size=1))
    api.post(ENTITIES, params=MERGE, json=cluster("c2", size=2))
    by_name = {"combinator": "and", "rules": [{"property": "name", "operator": "=", "value": "c2"}]}
    service = {"identifier": "s1", "relations": {"cluster": by_name}}
    created = api.post("/v1/blueprints/service/entities", params=MERGE, json=service)
    assert created.status_code == 201, created.json()
    assert created.json()["entity"]["relations"]["cluster"] == "c2"
    updated = api.post(ENTITIES, params=MERGE, json={"identifier": by_name, "properties": {"size": 20}})
    assert updated.status_code in (200, 201), updated.json()
    assert api.get(f"{ENTITIES}/c2").json()["entity"]["properties"]["size"] == 20
    every = {"combinator": "and", "rules": [{"property": "$identifier", "operator": "in", "value": ["c1", "c2"]}]}
    ambiguous = api.post(
        "/v1/blueprints/service/entities", params=MERGE, json={**service, "relations": {"cluster": every}}
    )
    assert ambiguous.status_code == 422
    assert "exactly one" in ambiguous.json()["message"]
    nothing = {"combinator": "and", "rules": [{"property": "name", "operator": "=", "value": "ghost"}]}
    assert api.post(ENTITIES, params=MERGE, json={"identifier": nothing}).status_code == 404


def test_bulk_later_entities_may_relate_to_earlier_ones(api: httpx.Client, blueprints: None) -> None:
    api.post(ENTITIES, json=cluster("c1"))
    peers = [
        {"identifier": "s1", "relations": {"cluster": "c1"}},
        {"identifier": "s2", "relations": {"cluster": "c1", "peers": ["s1"]}},
    ]
    assert api.post("/v1/blueprints/service/entities/bulk", params=MERGE, json={"entities": peers}).status_code == 200


@pytest.mark.parametrize(
    "body", [{"entities": []}, {"entities": [{"identifier": f"e{i}"} for i in range(21)]}, {"items": []}, []]
)
def test_bulk_request_shape_is_checked(api: httpx.Client, blueprints: None, body: Any) -> None:
    response = api.post(f"{ENTITIES}/bulk", params=MERGE, json=body)
    assert response.status_code == 422


def test_bulk_into_a_missing_blueprint_is_404(api: httpx.Client) -> None:
    response = api.post("/v1/blueprints/ghost/entities/bulk", json={"entities": [{"identifier": "a"}]})
    assert response.status_code == 404


def test_get_and_list(api: httpx.Client, blueprints: None) -> None:
    api.post(ENTITIES, json=cluster("b"))
    api.post(ENTITIES, json=cluster("a"))
    assert api.get(f"{ENTITIES}/a").json()["entity"]["identifier"] == "a"
    assert api.get(f"{ENTITIES}/zzz").status_code == 404
    assert api.get("/v1/blueprints/ghost/entities/a").status_code == 404
    listed = api.get(ENTITIES, params=[("include", "identifier"), ("include", "properties.name")]).json()
    assert listed == {
        "ok": True,
        "entities": [
            {"identifier": "a", "properties": {"name": "a"}},
            {"identifier": "b", "properties": {"name": "b"}},
        ],
    }


def test_patch_and_put_an_entity(api: httpx.Client, blueprints: None) -> None:
    api.post(ENTITIES, json=cluster("a", size=1))
    patched = api.patch(f"{ENTITIES}/a", json={"properties": {"size": 2}})
    assert patched.json()["entity"]["properties"] == {"name": "a", "size": 2}
    put = api.put(f"{ENTITIES}/a", json={"properties": {"name": "z"}})
    assert put.json()["entity"]["properties"] == {"name": "z"}
    assert api.patch(f"{ENTITIES}/ghost", json={"properties": {}}).status_code == 404


def test_datasource_is_recorded_from_the_user_agent(
    local_catalog: RunningCatalog, api: httpx.Client, blueprints: None
) -> None:
    api.post(ENTITIES, json=cluster("mine"))
    api.post(ENTITIES, json=cluster("theirs"), headers={"User-Agent": "port-ocean/aws/x/1.0/exporter"})
    query = {
        "combinator": "and",
        "rules": [{"property": "$datasource", "operator": "=", "value": USER_AGENT}],
    }
    found = api.post("/v1/entities/search", json=query).json()["entities"]
    assert [entity["identifier"] for entity in found] == ["mine"]
    assert "$datasource" not in found[0]


def _service(api: httpx.Client, identifier: str, cluster_id: str, peers: list[str] | None = None) -> None:
    relations: dict[str, Any] = {"cluster": cluster_id, **({"peers": peers} if peers else {})}
    response = api.post(
        "/v1/blueprints/service/entities",
        params=MERGE,
        json={"identifier": identifier, "relations": relations},
    )
    assert response.status_code == 201, response.json()


def test_delete_with_dependents_removes_them_too(api: httpx.Client, blueprints: None) -> None:
    api.post(ENTITIES, json=cluster("c1"))
    _service(api, "s1", "c1")
    api.post("/v1/blueprints/alarm/entities", json={"identifier": "al", "relations": {"service": "s1"}})
    assert api.delete(f"{ENTITIES}/c1", params={"delete_dependents": "true"}).json() == {"ok": True}
    assert api.get("/v1/blueprints/service/entities/s1").status_code == 404
    assert api.get("/v1/blueprints/alarm/entities/al").status_code == 404
    assert api.delete(f"{ENTITIES}/c1").status_code == 404


@pytest.mark.parametrize("relation", ["required", "optional"])
def test_delete_without_dependents_is_refused_with_403(api: httpx.Client, blueprints: None, relation: str) -> None:
    api.post(ENTITIES, json=cluster("c1"))
    _service(api, "s1", "c1")
    _service(api, "s2", "c1", peers=["s1"])
    if relation == "required":
        response = api.delete(f"{ENTITIES}/c1", params={"delete_dependents": "false"})
        still_there = f"{ENTITIES}/c1"
    else:  # s2 relates to s1 through the optional, many `peers` relation
        response = api.delete("/v1/blueprints/service/entities/s1", params={"delete_dependents": "false"})
        still_there = "/v1/blueprints/service/entities/s1"
    assert response.status_code == 403
    assert response.json()["error"] == "has_dependents"
    assert api.get(still_there).status_code == 200


def test_bulk_delete(api: httpx.Client, blueprints: None) -> None:
    for name in ("a", "b", "c"):
        api.post(ENTITIES, json=cluster(name))
    response = api.post("/v1/blueprints/cluster/bulk/entities/delete", json={"entities": ["a", "c", "ghost"]})
    assert response.json() == {"ok": True, "deletedEntities": ["a", "c"]}
    assert [entity["identifier"] for entity in api.get(ENTITIES).json()["entities"]] == ["b"]
    too_many = api.post("/v1/blueprints/cluster/bulk/entities/delete", json={"entities": [f"e{i}" for i in range(101)]})
    assert too_many.status_code == 422


def test_bulk_delete_is_all_or_nothing_when_dependents_block(api: httpx.Client, blueprints: None) -> None:
    api.post(ENTITIES, json=cluster("a"))
    api.post(ENTITIES, json=cluster("b"))
    _service(api, "s1", "b")
    response = api.post("/v1/blueprints/cluster/bulk/entities/delete", json={"entities": ["a", "b"]})
    assert response.status_code == 403
    assert response.json()["error"] == "has_dependents"
    assert len(api.get(ENTITIES).json()["entities"]) == 2


def test_bulk_delete_fails_whole_for_optional_dependents_too(api: httpx.Client, blueprints: None) -> None:
    api.post(ENTITIES, json=cluster("c1"))
    _service(api, "s1", "c1")
    _service(api, "s2", "c1", peers=["s1"])
    path = "/v1/blueprints/service/bulk/entities/delete"
    refused = api.post(path, params={"delete_dependents": "false"}, json={"entities": ["s1"]})
    assert (refused.status_code, refused.json()["error"]) == (403, "has_dependents")
    together = api.post(path, params={"delete_dependents": "false"}, json={"entities": ["s1", "s2"]})
    assert together.json() == {"ok": True, "deletedEntities": ["s1", "s2"]}
    unknown = api.post(path, params={"delete_dependents": "true"}, json={"entities": ["s1"], "force": True})
    assert unknown.status_code == 422


def test_delete_all_entities_of_a_blueprint(api: httpx.Client, blueprints: None) -> None:
    for name in ("a", "b"):
        api.post(ENTITIES, json=cluster(name))
    assert api.delete("/v1/blueprints/cluster/all-entities").json() == {"ok": True}
    assert api.get(ENTITIES).json()["entities"] == []
    refused = api.delete("/v1/blueprints/service/all-entities")  # service has a required relation
    assert refused.status_code == 422
    with_blueprint = api.delete("/v1/blueprints/alarm/all-entities", params={"delete_blueprint": "true"})
    assert with_blueprint.status_code == 200
    assert with_blueprint.json()["ok"] is True
    assert isinstance(with_blueprint.json()["migrationId"], str)  # Port deletes the blueprint in a migration
    assert api.get("/v1/blueprints/alarm").status_code == 404


def test_an_entity_sent_without_an_identifier_gets_one(api: httpx.Client, blueprints: None) -> None:
    """Port's write routes do not require an identifier: Port makes one up."""
    created = api.post(ENTITIES, params=MERGE, json={"properties": {"name": "anonymous"}})
    assert created.status_code == 201, created.json()
    identifier = created.json()["entity"]["identifier"]
    assert api.get(f"{ENTITIES}/{identifier}").json()["entity"]["properties"]["name"] == "anonymous"
