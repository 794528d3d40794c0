from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.local_catalog.conftest import USER_AGENT, cluster

MERGE = {"upsert": "true", "merge": "true"}


@pytest.fixture
def fleet(api: httpx.Client, blueprints: None) -> None:
    """Four clusters with varied properties; one written by another integration."""
    clusters = [
        cluster("prod-eu", size=10, state="ACTIVE", zones=["a", "b"], tags={"env": "prod"}),
        cluster("prod-us", size=4, state="ACTIVE", zones=["c"]),
        cluster("dev-eu", size=1, state="INACTIVE", zones=[]),
        {**{k: v for k, v in cluster("legacy").items() if k != "title"}, "team": ["ops"]},
    ]
    for entity in clusters[:3]:
        assert api.post("/v1/blueprints/cluster/entities", params=MERGE, json=entity).status_code == 201
    other = {"User-Agent": "port-ocean/aws/main/1.0/exporter"}
    assert api.post("/v1/blueprints/cluster/entities", params=MERGE, json=clusters[3], headers=other).status_code == 201
    api.post("/v1/blueprints/alarm/entities", json={"identifier": "prod-alarm", "title": "Prod alarm"})


def search(api: httpx.Client, *rules: dict[str, Any], combinator: str = "and", **params: Any) -> list[str]:
    response = api.post("/v1/entities/search", json={"combinator": combinator, "rules": list(rules)}, params=params)
    assert response.status_code == 200, response.json()
    return [entity["identifier"] for entity in response.json()["entities"]]


def rule(name: str, operator: str, value: Any = None) -> dict[str, Any]:
    return {"property": name, "operator": operator, **({} if value is None else {"value": value})}


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ([rule("state", "=", "ACTIVE")], ["prod-eu", "prod-us"]),
        ([rule("state", "!=", "ACTIVE"), rule("$blueprint", "=", "cluster")], ["dev-eu", "legacy"]),
        ([rule("size", ">", 4)], ["prod-eu"]),
        ([rule("size", ">=", 4)], ["prod-eu", "prod-us"]),
        ([rule("size", "<", 4)], ["dev-eu"]),
        ([rule("size", "<=", 4)], ["dev-eu", "prod-us"]),
        ([rule("$identifier", "in", ["dev-eu", "legacy", "nope"])], ["dev-eu", "legacy"]),
        (
            [rule("$identifier", "notIn", ["dev-eu", "legacy"]), rule("$blueprint", "=", "cluster")],
            ["prod-eu", "prod-us"],
        ),
        ([rule("$identifier", "contains", "eu")], ["dev-eu", "prod-eu"]),
        ([rule("$identifier", "doesNotContains", "prod")], ["dev-eu", "legacy"]),
        ([rule("$identifier", "beginsWith", "prod")], ["prod-alarm", "prod-eu", "prod-us"]),
        ([rule("$identifier", "doesNotBeginsWith", "prod")], ["dev-eu", "legacy"]),
        ([rule("$identifier", "endsWith", "-us")], ["prod-us"]),
        ([rule("$identifier", "doesNotEndsWith", "u")], ["legacy", "prod-alarm", "prod-us"]),
        ([rule("zones", "contains", "a")], ["prod-eu"]),
        ([rule("zones", "containsAny", ["b", "c"])], ["prod-eu", "prod-us"]),
        ([rule("zones", "isEmpty"), rule("$blueprint", "=", "cluster")], ["dev-eu", "legacy"]),
        ([rule("zones", "isNotEmpty")], ["prod-eu", "prod-us"]),
        ([rule("$title", "=", "PROD-EU")], ["prod-eu"]),
        ([rule("$title", "isEmpty")], ["legacy"]),
        ([rule("$team", "=", "ops")], ["legacy"]),
        ([rule("$blueprint", "=", "alarm")], ["prod-alarm"]),
        (
            [
                rule("$datasource", "contains", "port-aws-exporter"),
                rule("$datasource", "contains", "region/us-east-1)"),
            ],
            ["dev-eu", "prod-alarm", "prod-eu", "prod-us"],
        ),
        ([rule("$datasource", "=", USER_AGENT), rule("$identifier", "=", "prod-eu")], ["prod-eu"]),
        ([rule("$datasource", "beginsWith", "port-ocean/")], ["legacy"]),
        (
            [rule("$createdAt", "<=", "9999-01-01T00:00:00.000Z"), rule("$identifier", "=", "dev-eu")],
            ["dev-eu"],
        ),
        (
            [
                rule("$updatedAt", "between", {"from": "2000-01-01T00:00:00Z", "to": "2999-01-01T00:00:00Z"}),
                rule("$blueprint", "=", "alarm"),
            ],
            ["prod-alarm"],
        ),
        ([rule("$createdAt", "notBetween", {"from": "2000-01-01T00:00:00Z"})], []),
        ([], ["dev-eu", "legacy", "prod-alarm", "prod-eu", "prod-us"]),
    ],
)
def test_operators(api: httpx.Client, fleet: None, rules: list[dict[str, Any]], expected: list[str]) -> None:
    assert sorted(search(api, *rules)) == expected


def test_nested_and_or(api: httpx.Client, fleet: None) -> None:
    nested = {
        "combinator": "or",
        "rules": [
            rule("size", ">", 5),
            {"combinator": "and", "rules": [rule("state", "=", "INACTIVE"), rule("zones", "isEmpty")]},
        ],
    }
    assert sorted(search(api, rule("$blueprint", "=", "cluster"), nested)) == ["dev-eu", "prod-eu"]
    assert sorted(search(api, rule("size", "=", 10), rule("size", "=", 1), combinator="or")) == [
        "dev-eu",
        "prod-eu",
    ]


def test_search_answer_shape_and_include_exclude(api: httpx.Client, fleet: None) -> None:
    response = api.post(
        "/v1/entities/search",
        json={"combinator": "and", "rules": [rule("$identifier", "beginsWith", "prod")]},
        params=[("include", "identifier"), ("include", "blueprint")],
    )
    assert response.json() == {
        "ok": True,
        "matchingBlueprints": ["alarm", "cluster"],
        "failedBlueprints": [],
        "entities": [
            {"identifier": "prod-alarm", "blueprint": "alarm"},
            {"identifier": "prod-eu", "blueprint": "cluster"},
            {"identifier": "prod-us", "blueprint": "cluster"},
        ],
    }
    excluded = api.post(
        "/v1/entities/search",
        json={"combinator": "and", "rules": [rule("$identifier", "=", "prod-eu")]},
        params=[("exclude", "relations"), ("exclude", "properties.tags")],
    ).json()["entities"][0]
    assert "relations" not in excluded
    assert excluded["properties"] == {"name": "prod-eu", "size": 10, "state": "ACTIVE", "zones": ["a", "b"]}


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"rules": []}, "combinator"),
        ({"combinator": "xor", "rules": []}, "combinator"),
        ({"combinator": "and", "rules": {}}, "rules must be a list"),
        ({"combinator": "and", "rules": [rule("x", "like", "y")]}, "operator 'like'"),
        ({"combinator": "and", "rules": [rule("x", "in", "y")]}, "needs a list"),
        ({"combinator": "and", "rules": [{"property": "x", "operator": "="}]}, "needs a 'value'"),
        ({"combinator": "and", "rules": [rule("$nope", "=", "y")]}, "meta-property"),
        (
            {"combinator": "and", "rules": [{"combinator": "and", "rules": [{"operator": "="}]}]},
            "rules[0].rules[0]",
        ),
    ],
)
def test_bad_queries_are_422_naming_the_rule(api: httpx.Client, query: dict[str, Any], words: str) -> None:
    response = api.post("/v1/entities/search", json=query)
    assert response.status_code == 422
    assert words in response.json()["message"]


def test_paginated_blueprint_search(api: httpx.Client, blueprints: None) -> None:
    entities = [cluster(f"c{index:03d}", size=index) for index in range(45)]
    for start in range(0, 45, 15):
        api.post(
            "/v1/blueprints/cluster/entities/bulk",
            params=MERGE,
            json={"entities": entities[start : start + 15]},
        )
    body: dict[str, Any] = {
        "query": {"combinator": "and", "rules": [rule("size", ">=", 5)]},
        "limit": 16,
        "include": ["$identifier"],
    }
    pages: list[list[str]] = []
    while True:
        page = api.post("/v1/blueprints/cluster/entities/search", json=body).json()
        assert page["ok"] is True
        pages.append([entity["identifier"] for entity in page["entities"]])
        if "next" not in page:  # Port's last page has no `next` at all
            break
        body["from"] = page["next"]
    assert [len(page) for page in pages] == [16, 16, 8]
    assert [identifier for page in pages for identifier in page] == [f"c{index:03d}" for index in range(5, 45)]


def test_blueprint_search_defaults_and_errors(api: httpx.Client, blueprints: None) -> None:
    api.post("/v1/blueprints/cluster/entities", json=cluster("only"))
    everything = api.post("/v1/blueprints/cluster/entities/search", json={}).json()
    assert [entity["identifier"] for entity in everything["entities"]] == ["only"]
    assert "next" not in everything
    assert api.post("/v1/blueprints/ghost/entities/search", json={}).status_code == 404
    assert api.post("/v1/blueprints/cluster/entities/search", json={"limit": 0}).status_code == 422
    assert api.post("/v1/blueprints/cluster/entities/search", json={"limit": 1001}).status_code == 422
    assert api.post("/v1/blueprints/cluster/entities/search", json={"from": "garbage!"}).status_code == 422


def test_blueprint_search_include_takes_meta_properties_with_a_dollar_and_properties_bare(
    api: httpx.Client, blueprints: None
) -> None:
    api.post("/v1/blueprints/cluster/entities", params=MERGE, json=cluster("c1", size=3))

    def first(include: list[str], exclude: list[str] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"include": include, **({"exclude": exclude} if exclude else {})}
        response = api.post("/v1/blueprints/cluster/entities/search", json=body)
        assert response.status_code == 200, response.json()
        entity: dict[str, Any] = response.json()["entities"][0]
        return entity

    with_meta = first(["$identifier", "$updatedAt"])
    assert set(with_meta) == {"identifier", "updatedAt"}
    assert with_meta["identifier"] == "c1"
    # Bare names are property identifiers: a blueprint has no property called `identifier`.
    assert first(["identifier", "updatedAt"]) == {}
    assert first(["size", "$title"]) == {"title": "C1", "properties": {"size": 3}}
    assert "size" not in first([], exclude=["size"])["properties"]
    refused = api.post("/v1/blueprints/cluster/entities/search", json={"include": ["$nope"]})
    assert refused.status_code == 422
    assert "$nope" in refused.json()["message"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/blueprints/cluster/entities/search", {"limit": 5, "sort": "asc"}),
        ("/v1/entities/search", {"combinator": "and", "rules": [], "limit": 5}),
    ],
)
def test_search_bodies_refuse_unknown_keys(api: httpx.Client, blueprints: None, path: str, body: Any) -> None:
    response = api.post(path, json=body)
    assert response.status_code == 422
    assert "additional properties" in response.json()["message"]
