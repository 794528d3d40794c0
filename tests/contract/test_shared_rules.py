"""The rules the product states in its own code (`core.entity_rules`), held against Port's document.

The client's pre-send check and the local catalog's bulk route use `core.entity_rules`; neither
reads the OpenAPI document at run time. Here the same inputs go to both: the document's own
patterns (ECMAScript, Unicode mode) and request schema, and the rule, which must agree.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from port_aws_exporter.core.entity_rules import (
    BLUEPRINT_IDENTIFIER_PATTERN,
    ENTITY_IDENTIFIER_PATTERN,
    entity_problems,
    is_blueprint_identifier,
    is_entity_identifier,
)
from tests.contract.port_openapi import ecma_regex, port_spec

BULK = "/v1/blueprints/{blueprint_identifier}/entities/bulk"
HEADERS = {"authorization": "Bearer x", "content-type": "application/json"}


def _bulk_item_schema() -> dict[str, Any]:
    body = port_spec().document["paths"][BULK]["post"]["requestBody"]["content"]["application/json"]["schema"]
    item: dict[str, Any] = body["properties"]["entities"]["items"]
    return item


def test_the_rules_state_the_documents_patterns() -> None:
    identifier = _bulk_item_schema()["properties"]["identifier"]["oneOf"][0]
    assert (identifier["pattern"], identifier["maxLength"]) == (ENTITY_IDENTIFIER_PATTERN, 1000)
    blueprint = port_spec().document["paths"]["/v1/blueprints"]["post"]["requestBody"]["content"]["application/json"]
    assert blueprint["schema"]["properties"]["identifier"]["pattern"] == BLUEPRINT_IDENTIFIER_PATTERN


# Letters of every script, digits, the allowed punctuation, and what AWS names also contain.
identifier_text = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Z", "M")),
        st.sampled_from(list("@_.+:\\/=- \t#?&%'\"")),
    ),
    max_size=30,
)


@settings(max_examples=400, deadline=None)
@given(identifier_text)
@example("..")
@example(".")
@example("...")
@example("a b")
@example("ǅ")  # a title-case letter (Lt)
@example("ʰ")  # a modifier letter (Lm)
@example("١٢")  # Arabic-Indic digits: numbers, not letters, not 0-9
@example("x" * 1000)
@example("x" * 1001)
def test_identifier_rule_agrees_with_the_documents_pattern(value: str) -> None:
    expected = len(value) <= 1000 and ecma_regex(ENTITY_IDENTIFIER_PATTERN).find(value) is not None
    assert is_entity_identifier(value) is expected
    blueprint_expected = len(value) <= 100 and ecma_regex(BLUEPRINT_IDENTIFIER_PATTERN).find(value) is not None
    assert is_blueprint_identifier(value) is blueprint_expected


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(["", "ok", "bad id", "a/b", ".."]))
query_rule = st.fixed_dictionaries(
    {
        "property": st.sampled_from(["$identifier", "name"]),
        "operator": st.sampled_from(["=", "in", "contains", "containsAny", ">"]),
        "value": st.one_of(json_leaf, st.lists(st.sampled_from(["a", "b"]), max_size=2)),
    }
)
query = st.fixed_dictionaries(
    {"combinator": st.sampled_from(["and", "or", "xor"]), "rules": st.lists(query_rule, max_size=2)}
)
relation_value = st.one_of(json_leaf, st.lists(json_leaf, max_size=3), query)
entity = st.fixed_dictionaries(
    {},
    optional={
        "identifier": st.one_of(json_leaf, query),
        "title": json_leaf,
        "icon": json_leaf,
        "team": st.one_of(json_leaf, st.lists(json_leaf, max_size=2), query),
        "properties": st.one_of(json_leaf, st.dictionaries(st.sampled_from(["a", "b"]), json_leaf, max_size=2)),
        "relations": st.one_of(json_leaf, st.dictionaries(st.sampled_from(["r", "s"]), relation_value, max_size=2)),
        "extra": json_leaf,
    },
)


@settings(max_examples=300, deadline=None)
@given(entity)
@example({"identifier": "fn-1", "properties": {"memory": 128}, "relations": {"layer": ["l-1"], "vpc": None}})
@example({"identifier": {"combinator": "and", "rules": [{"property": "arn", "operator": "=", "value": "x"}]}})
def test_entity_rules_agree_with_the_bulk_routes_schema(candidate: dict[str, Any]) -> None:
    """`entity_problems` is empty exactly when the document's bulk request schema accepts the entity."""
    spec = port_spec()
    body = json.dumps({"entities": [candidate]}).encode()
    request = spec.request("POST", "/v1/blueprints/b/entities/bulk", [("upsert", "true")], HEADERS, body)
    document_accepts = spec.request_problem(request) is None
    assert (entity_problems(candidate) == []) is document_accepts, (entity_problems(candidate), candidate)
