"""Filters a person types (`core.entity_filter`) and the installation rules, run by the catalog's search."""

from __future__ import annotations

from typing import Any

import pytest

from port_aws_exporter.core.entity_filter import FilterError, all_of, filter_query, text_query
from port_aws_exporter.core.installation import Installation, installation_of, installations_rules
from port_aws_exporter.local.catalog.search import compile_query

BLUEPRINT = {
    "identifier": "fn",
    "schema": {"properties": {"runtime": {"type": "string"}, "memory": {"type": "number"}, "tags": {"type": "array"}}},
}


def _entity(identifier: str, datasource: str = "", **properties: Any) -> dict[str, Any]:
    return {"identifier": identifier, "title": identifier.title(), "properties": properties, "$datasource": datasource}


def _matches(query: dict[str, Any], *entities: dict[str, Any]) -> list[str]:
    predicate = compile_query(query)
    return [entity["identifier"] for entity in entities if predicate(entity)]


def test_words_look_in_identifier_title_and_text_properties() -> None:
    query = text_query("py", [BLUEPRINT])
    assert query["combinator"] == "or"
    assert [rule["property"] for rule in query["rules"]] == ["$identifier", "$title", "runtime"]
    entities = (_entity("a", runtime="python3.12"), _entity("happy"), _entity("b", runtime="java21", memory=1))
    assert _matches(query, *entities) == ["a", "happy"]


def test_a_json_filter_is_a_query_or_one_rule() -> None:
    rule = {"property": "memory", "operator": ">", "value": 5}
    assert filter_query('{"property": "memory", "operator": ">", "value": 5}', [BLUEPRINT]) == {
        "combinator": "and",
        "rules": [rule],
    }
    query = '{"combinator": "or", "rules": []}'
    assert filter_query(f"  {query} ", []) == {"combinator": "or", "rules": []}
    assert filter_query("   ", [BLUEPRINT]) == {"combinator": "and", "rules": []}


@pytest.mark.parametrize(
    ("text", "words"),
    [("{nope", "not JSON"), ('{"rules": []}', "a query"), ("{} ", "a query")],
)
def test_a_bad_json_filter_says_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(FilterError, match=words):
        filter_query(text, [])


def test_all_of_keeps_the_top_level_and_rules_flat() -> None:
    words = text_query("x", [])
    combined = all_of(
        {"combinator": "and", "rules": [{"property": "$blueprint", "operator": "=", "value": "fn"}]}, words
    )
    assert combined == {
        "combinator": "and",
        "rules": [{"property": "$blueprint", "operator": "=", "value": "fn"}, words],
    }


def test_installations_rules_narrow_by_account_region_or_both() -> None:
    entities = (
        _entity("a-eu", Installation("111111111111", "eu-west-1").user_agent),
        _entity("a-us", Installation("111111111111", "us-east-1").user_agent),
        _entity("b-eu", Installation("222222222222", "eu-west-1").user_agent),
        _entity("longer-region", Installation("111111111111", "eu-west-10").user_agent),
        _entity("by-hand", "curl/8.5.0"),
    )

    def selected(account: str | None, region: str | None) -> list[str]:
        return _matches({"combinator": "and", "rules": installations_rules(account, region)}, *entities)

    assert selected("111111111111", None) == ["a-eu", "a-us", "longer-region"]
    assert selected(None, "eu-west-1") == ["a-eu", "b-eu"]
    assert selected("111111111111", "eu-west-1") == ["a-eu"]
    assert selected(None, None) == ["a-eu", "a-us", "b-eu", "longer-region"]
    # With both, the same entities as the installation's own owned-entities query.
    owned = Installation("111111111111", "eu-west-1").owned_entities_query
    assert _matches(owned, *entities) == selected("111111111111", "eu-west-1")


def test_installation_of_reads_a_datasource_back() -> None:
    installation = Installation("123456789012", "ap-southeast-2")
    assert installation_of(installation.user_agent) == installation
    assert installation_of("someone/1.0 (accountid/123456789012 region/eu-west-1)") is None
    assert installation_of("port-aws-exporter/0.1.0") is None
    assert installation_of("") is None
