from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from port_aws_exporter.port.blueprint_order import order_by_relations
from tests.local_catalog.conftest import CLUSTER, SERVICE


def test_create_returns_201_and_the_blueprint(api: httpx.Client) -> None:
    response = api.post("/v1/blueprints", json=CLUSTER)
    assert response.status_code == 201
    body = response.json()
    assert body["ok"] is True
    assert body["blueprint"]["identifier"] == "cluster"
    assert body["blueprint"]["schema"]["required"] == ["name"]
    assert body["blueprint"]["createdAt"].endswith("Z")


def test_creating_twice_is_409(api: httpx.Client) -> None:
    api.post("/v1/blueprints", json=CLUSTER)
    response = api.post("/v1/blueprints", json=CLUSTER)
    assert response.status_code == 409
    assert response.json()["ok"] is False


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"identifier": "has space"}, "identifier"),
        ({"identifier": "with=equals"}, "identifier"),
        ({"title": ""}, "title"),
        ({"schema": {"properties": {"x": {"type": "date"}}}}, "needs a type"),
        ({"schema": {"properties": {"bad id": {"type": "string"}}}}, "property id"),
        ({"schema": {"properties": {}, "required": ["ghost"]}}, "ghost"),
        ({"relations": {"r": {"many": True}}}, "target"),
        ({"relations": {"r": {"target": "cluster", "many": "yes"}}}, "many"),
    ],
)
def test_invalid_blueprints_are_422_naming_the_problem(api: httpx.Client, change: dict[str, Any], words: str) -> None:
    response = api.post("/v1/blueprints", json={**CLUSTER, **change})
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"
    assert words in response.json()["message"]


def test_relation_to_an_unknown_blueprint_is_404(api: httpx.Client) -> None:
    response = api.post("/v1/blueprints", json=SERVICE)
    assert response.status_code == 404
    assert "'cluster'" in response.json()["message"]


def test_self_relation_is_allowed(api: httpx.Client) -> None:
    node = {
        "identifier": "node",
        "title": "Node",
        "schema": {"properties": {}},
        "relations": {"parent": {"target": "node"}},
    }
    assert api.post("/v1/blueprints", json=node).status_code == 201


def test_get_list_put_patch_delete(api: httpx.Client) -> None:
    api.post("/v1/blueprints", json=CLUSTER)
    assert api.get("/v1/blueprints/cluster").json()["blueprint"]["title"] == "Cluster"
    assert api.get("/v1/blueprints/ghost").status_code == 404
    assert [bp["identifier"] for bp in api.get("/v1/blueprints").json()["blueprints"]] == ["cluster"]
    replaced = api.put("/v1/blueprints/cluster", json={**CLUSTER, "title": "Clusters"})
    assert replaced.status_code == 200
    assert replaced.json()["blueprint"]["title"] == "Clusters"
    assert api.put("/v1/blueprints/cluster", json={**CLUSTER, "identifier": "other"}).status_code == 422
    patched = api.patch("/v1/blueprints/cluster", json={"schema": {"properties": {"extra": {"type": "boolean"}}}})
    assert patched.status_code == 200
    assert set(patched.json()["blueprint"]["schema"]["properties"]) == set(CLUSTER["schema"]["properties"]) | {"extra"}
    assert api.put("/v1/blueprints/ghost", json={**CLUSTER, "identifier": "ghost"}).status_code == 404
    assert api.delete("/v1/blueprints/cluster").json() == {"ok": True}
    assert api.delete("/v1/blueprints/cluster").status_code == 404


def test_a_blueprint_with_entities_or_dependents_cannot_be_deleted(api: httpx.Client, blueprints: None) -> None:
    assert api.delete("/v1/blueprints/cluster").status_code == 409  # service relates to it
    api.post("/v1/blueprints/alarm/entities", json={"identifier": "a1"})
    response = api.delete("/v1/blueprints/alarm")
    assert response.status_code == 409
    assert "1 entities" in response.json()["message"]


def test_every_port_example_blueprint_applies(api: httpx.Client, shared_data: Path) -> None:
    region = {"identifier": "region", "title": "Region", "schema": {"properties": {}}, "relations": {}}
    assert api.post("/v1/blueprints", json=region).status_code == 201
    files = sorted((shared_data / "port-examples").glob("*.blueprint.json"))

    bodies = [json.loads(path.read_text()) for path in files]
    applicable = [body for body in bodies if "identifier" in body]
    for body in order_by_relations(applicable):
        response = api.post("/v1/blueprints", json=body)
        assert response.status_code == 201, (body["identifier"], response.json())
    stored = {bp["identifier"] for bp in api.get("/v1/blueprints").json()["blueprints"]}
    assert stored == {body["identifier"] for body in applicable} | {"region"}
    lambda_bp = api.get("/v1/blueprints/lambda").json()["blueprint"]
    assert lambda_bp["schema"]["properties"]["packageType"]["enum"] == ["Image", "Zip"]
