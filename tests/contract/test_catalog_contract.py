"""The local catalog against Port's document: its routes, what it refuses, the shape of its answers.

Requests here are sent on purpose, some of them outside the document: the `ContractRecorder`
fails a test when the document refuses a request that the catalog accepted, and when any answer
(errors included) is not what the document describes.
"""

from __future__ import annotations

import copy
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_core import OpenAPI
from starlette.routing import Route

from port_aws_exporter.core.config import EntityMapping
from port_aws_exporter.core.entity_changes import BlueprintShape, EntityChange, OwnedDigests
from port_aws_exporter.local.catalog import CatalogDatabase, CatalogService, RunningCatalog
from port_aws_exporter.local.catalog.app import CatalogState, build_app
from tests.contract.port_openapi import (
    SPEC_GAPS,
    ContractRecorder,
    PortSpec,
    _load_document,
    port_spec,
)

ENTITIES = "/v1/blueprints/cluster/entities"
CLUSTER: dict[str, Any] = {
    "identifier": "cluster",
    "title": "Cluster",
    "schema": {"properties": {"size": {"type": "number"}}, "required": []},
    "relations": {"parent": {"target": "cluster", "required": False, "many": False}},
}


@pytest.fixture
def api(local_catalog: RunningCatalog, contract: ContractRecorder) -> Iterator[httpx.Client]:
    token = httpx.post(
        f"{local_catalog.url}/v1/auth/access_token",
        json={"clientId": local_catalog.client_id, "clientSecret": local_catalog.client_secret},
    ).json()["accessToken"]
    with httpx.Client(base_url=local_catalog.url, headers={"Authorization": f"Bearer {token}"}) as client:
        assert client.post("/v1/blueprints", json=CLUSTER).status_code == 201
        yield client


def _catalog_routes() -> list[tuple[str, str]]:
    # The app is built only to read its routing table; the pages' routes need a database path.
    with tempfile.TemporaryDirectory() as folder:
        service = CatalogService(CatalogDatabase(Path(folder) / "routes.db"))
        state = CatalogState(service=service, tokens=None, faults=None)  # type: ignore[arg-type]
        app = build_app(state)
        state.service.database.close()
    routes = []
    for route in app.routes:
        if isinstance(route, Route) and route.path.startswith("/v1/"):
            sample = re.sub(r"\{[^}]+\}", "sample", route.path)
            routes += [(method, sample) for method in sorted(route.methods or ()) if method != "HEAD"]
    return routes


@pytest.mark.parametrize(("method", "path"), _catalog_routes())
def test_every_route_of_the_local_catalog_is_in_the_document(method: str, path: str) -> None:
    assert port_spec().operation_exists(method, path), f"{method} {path} is not in Port's OpenAPI document"


@pytest.mark.parametrize(
    ("method", "path", "params", "body"),
    [
        ("POST", f"{ENTITIES}/bulk", {"upsert": "true"}, {"entities": [{"identifier": "bad id"}]}),
        ("POST", f"{ENTITIES}/bulk", {"upsert": "true"}, {"entities": [{"identifier": "a"}], "extra": 1}),
        ("POST", f"{ENTITIES}/bulk", {"upsert": "true"}, {"entities": []}),
        ("POST", f"{ENTITIES}/bulk", {"upsert": "true"}, {"entities": [{"identifier": f"e{i}"} for i in range(21)]}),
        ("POST", f"{ENTITIES}/bulk", {"upsert": "true"}, {"entities": [{"identifier": "a", "relations": {"r": 1}}]}),
        ("POST", f"{ENTITIES}/bulk", {"upsert": "true"}, {"entities": [{"identifier": "a", "properties": []}]}),
        ("POST", ENTITIES, {"upsert": "true"}, {"identifier": "a", "title": 5}),
        ("POST", ENTITIES, {"upsert": "true"}, {"identifier": ".."}),
        ("POST", ENTITIES, {"upsert": "true"}, {"identifier": "a", "team": {"combinator": "and"}}),
        ("PATCH", f"{ENTITIES}/c1", {}, {"properties": {}, "blueprint": "cluster"}),
        ("PATCH", f"{ENTITIES}/c1", {}, {"properties": {"bad name": 1}}),
        ("POST", "/v1/blueprints/cluster/entities/search", {}, {"limit": 5, "sort": "asc"}),
        ("POST", "/v1/blueprints/cluster/entities/search", {}, {"limit": 0}),
        ("POST", "/v1/blueprints/cluster/entities/search", {}, {"include": "identifier"}),
        ("POST", "/v1/blueprints/cluster/bulk/entities/delete", {"delete_dependents": "true"}, {"entities": []}),
        (
            "POST",
            "/v1/blueprints/cluster/bulk/entities/delete",
            {"delete_dependents": "true"},
            {"entities": ["a"], "x": 1},
        ),
        ("POST", "/v1/entities/search", {}, {"combinator": "and", "rules": [], "limit": 3}),
        ("POST", "/v1/entities/search", {}, {"combinator": "xor", "rules": []}),
    ],
)
def test_what_the_document_refuses_the_catalog_refuses(
    api: httpx.Client, method: str, path: str, params: dict[str, str], body: Any
) -> None:
    api.post(ENTITIES, params={"upsert": "true"}, json={"identifier": "c1", "properties": {"size": 1}})
    response = api.request(method, path, params=params, json=body)
    assert 400 <= response.status_code < 500, response.json()
    assert response.json()["ok"] is False
    # The recorder (the `contract` fixture) also checked that the document refuses the request and
    # that this error answer has the documented shape.


def test_error_answers_have_the_documented_shapes(local_catalog: RunningCatalog, api: httpx.Client) -> None:
    api.post(ENTITIES, params={"upsert": "true"}, json={"identifier": "p"})
    api.post(ENTITIES, params={"upsert": "true"}, json={"identifier": "child", "relations": {"parent": "p"}})
    assert httpx.get(f"{local_catalog.url}/v1/blueprints").status_code == 401
    assert api.get("/v1/blueprints/ghost").status_code == 404
    assert api.get(f"{ENTITIES}/ghost").status_code == 404
    assert api.post(ENTITIES, json={"identifier": "p"}, params={"upsert": "false"}).status_code == 409
    assert (
        api.post(ENTITIES, params={"upsert": "true"}, json={"identifier": "x", "properties": {"s": 1}}).status_code
        == 422
    )
    assert api.delete(f"{ENTITIES}/p", params={"delete_dependents": "false"}).status_code == 403
    big = {"entities": [{"identifier": "big", "properties": {"size": 1}, "pad": "x" * (1024 * 1024)}]}
    assert api.post(f"{ENTITIES}/bulk", params={"upsert": "true"}, json=big).status_code == 413
    local_catalog.faults.update(throttle_rate=1.0, retry_after_seconds=0)
    assert api.get("/v1/blueprints").status_code == 429
    local_catalog.faults.update(throttle_rate=0.0, server_error_rate=1.0)
    assert api.get("/v1/blueprints").status_code >= 500
    local_catalog.faults.clear()


def test_success_answers_have_the_documented_shapes(api: httpx.Client) -> None:
    api.post(ENTITIES, params={"upsert": "true"}, json={"identifier": "c1", "title": "C1", "properties": {"size": 1}})
    assert api.get(ENTITIES, params=[("include", "identifier"), ("include", "properties.size")]).status_code == 200
    assert api.patch(f"{ENTITIES}/c1", json={"title": None, "properties": {"size": 2}}).status_code == 200
    assert api.put(f"{ENTITIES}/c1", json={"identifier": "c1", "properties": {"size": 3}}).status_code == 200
    last_page = api.post("/v1/blueprints/cluster/entities/search", json={"include": ["$identifier", "$updatedAt"]})
    assert "next" not in last_page.json()
    with_blueprint = api.delete("/v1/blueprints/cluster/all-entities", params={"delete_blueprint": "true"})
    assert "migrationId" in with_blueprint.json()


def test_the_change_only_read_asks_for_what_the_mappings_send_and_gets_just_that(api: httpx.Client) -> None:
    api.post(ENTITIES, params={"upsert": "true"}, json={"identifier": "p"})
    held = {
        "identifier": "c1",
        "title": "C1",
        "team": "platform",
        "properties": {"size": 3},
        "relations": {"parent": "p"},
    }
    assert api.post(ENTITIES, params={"upsert": "true"}, json=held).status_code == 201
    mapping = EntityMapping(
        identifier=".n",
        blueprint="cluster",
        title=".t",
        team=".team",
        properties={"size": ".s"},
        relations={"parent": ".p"},
    )
    shape = BlueprintShape.of_mappings([mapping])
    assert shape.include() == ["$identifier", "$title", "$team", "size", "parent"]
    page = api.post("/v1/blueprints/cluster/entities/search", json={"include": shape.include()}).json()
    [entity] = [entity for entity in page["entities"] if entity["identifier"] == "c1"]
    # Port holds `team` as a list, whatever was sent; no createdAt, blueprint or other meta-property.
    assert entity == {**held, "team": ["platform"]}
    owned = OwnedDigests(shape)
    owned.add(entity)
    assert owned.classify(held) is EntityChange.UNCHANGED
    assert owned.classify({**held, "relations": {"parent": None}}) is EntityChange.UPDATE


def test_each_spec_gap_is_needed_and_sourced() -> None:
    """The in-memory patches of the document are exactly those `SPEC_GAPS` lists, and each one
    is needed: without it, an answer Port gives would fail validation."""
    assert all(gap.source and gap.what for gap in SPEC_GAPS)
    patched, raw = port_spec(), _raw_spec()
    entity = {"ok": True, "entity": {"identifier": "a", "properties": {}, "relations": {}, "updatedAt": "x"}}
    request = patched.request("GET", "/v1/blueprints/a/entities/a", [], {"authorization": "Bearer x"}, b"")
    body = httpx.Response(200, json=entity).content
    assert patched.response_problem(request, 200, body, "application/json") is None
    assert raw.response_problem(request, 200, body, "application/json") is not None
    request = patched.request("DELETE", "/v1/blueprints/a/all-entities", [], {"authorization": "Bearer x"}, b"")
    body = httpx.Response(200, json={"ok": True, "migrationId": "m-1"}).content
    assert patched.response_problem(request, 200, body, "application/json") is None
    assert raw.response_problem(request, 200, body, "application/json") is not None
    assert (
        raw.response_problem(
            request, 429, b'{"ok": false, "error": "rate_limited", "message": "m"}', "application/json"
        )
        is None
    )


def _raw_spec() -> PortSpec:
    spec = copy.copy(port_spec())
    spec.document = _load_document()
    spec.api = OpenAPI.from_dict(spec.document, config=port_spec().api.config)
    return spec
