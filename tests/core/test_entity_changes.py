"""The one comparison of a mapped entity with what the catalog holds, under upsert + merge."""

from __future__ import annotations

from typing import Any

from port_aws_exporter.core.config import EntityMapping
from port_aws_exporter.core.entity_changes import BlueprintShape, EntityChange, OwnedDigests, shapes_of

CREATE, UPDATE, UNCHANGED = EntityChange.CREATE, EntityChange.UPDATE, EntityChange.UNCHANGED


def _owned(*held: dict[str, Any], **mapping: Any) -> OwnedDigests:
    fields = {"identifier": ".n", "blueprint": "fn", "properties": {"arn": ".a", "size": ".s"}, **mapping}
    owned = OwnedDigests(BlueprintShape.of_mappings([EntityMapping(**fields)]))
    for entity in held:
        owned.add(entity)
    return owned


def test_only_the_fields_sent_count_and_a_null_sent_over_a_value_is_a_change() -> None:
    owned = _owned({"identifier": "f", "properties": {"arn": "a", "size": 128, "byHand": True}})
    assert owned.classify({"identifier": "f", "properties": {"arn": "a", "size": 128}}) is UNCHANGED
    assert owned.classify({"identifier": "f", "properties": {"arn": "a", "size": 128.0}}) is UNCHANGED
    assert owned.classify({"identifier": "f", "properties": {"arn": "a", "size": 256}}) is UPDATE
    assert owned.classify({"identifier": "f", "properties": {"arn": "a", "size": None}}) is UPDATE
    assert owned.classify({"identifier": "g", "properties": {"arn": "a", "size": 1}}) is CREATE
    # A property the catalog does not hold reads as null, as a search answer leaves it out.
    sparse = _owned({"identifier": "f", "properties": {"arn": "a"}})
    assert sparse.classify({"identifier": "f", "properties": {"arn": "a", "size": None}}) is UNCHANGED


def test_integral_floats_anywhere_equal_their_integers_and_strings_that_look_like_them_do_not() -> None:
    owned = _owned(
        {"identifier": "f", "properties": {"arn": "v1.0", "size": [1e16, {"n": -0.0}]}},
        {"identifier": "g", "properties": {"arn": "a", "size": 10**16}},
    )
    assert owned.classify({"identifier": "f", "properties": {"arn": "v1.0", "size": [10**16, {"n": 0}]}}) is UNCHANGED
    assert owned.classify({"identifier": "f", "properties": {"arn": "v1", "size": [10**16, {"n": 0}]}}) is UPDATE
    assert owned.classify({"identifier": "g", "properties": {"arn": "a", "size": 1e16}}) is UNCHANGED
    assert owned.classify({"identifier": "g", "properties": {"arn": "a", "size": "1e+16"}}) is UPDATE


def test_a_null_title_or_team_is_not_sent_so_it_changes_nothing_and_team_is_held_as_a_list() -> None:
    owned = _owned(
        {"identifier": "f", "title": "F", "team": ["core"], "properties": {"arn": "a", "size": 1}},
        title=".t",
        team=".team",
    )
    base = {"identifier": "f", "properties": {"arn": "a", "size": 1}}
    assert owned.classify({**base, "title": "F", "team": "core"}) is UNCHANGED
    assert owned.classify({**base, "title": None, "team": None}) is UNCHANGED
    assert owned.classify({**base, "title": "G"}) is UPDATE
    assert owned.classify({**base, "team": ["core", "web"]}) is UPDATE


def test_relations_are_compared_and_a_search_query_cannot_be() -> None:
    owned = _owned(
        {"identifier": "f", "properties": {"arn": "a", "size": 1}, "relations": {"role": "r1"}},
        relations={"role": ".r"},
    )
    base = {"identifier": "f", "properties": {"arn": "a", "size": 1}}
    assert owned.classify({**base, "relations": {"role": "r1"}}) is UNCHANGED
    assert owned.classify({**base, "relations": {"role": "r2"}}) is UPDATE
    assert owned.classify({**base, "relations": {"role": None}}) is UPDATE
    query = {"combinator": "and", "rules": [{"property": "$identifier", "operator": "=", "value": "r1"}]}
    assert owned.classify({**base, "relations": {"role": query}}) is UPDATE
    assert owned.classify({**base, "identifier": query}) is UPDATE


def test_two_mappings_of_one_blueprint_that_send_different_fields_are_each_compared_on_their_own() -> None:
    narrow = EntityMapping(identifier=".n", blueprint="fn", properties={"arn": ".a"})
    wide = EntityMapping(identifier=".n", blueprint="fn", title=".t", properties={"arn": ".a", "size": ".s"})
    shapes = shapes_of([narrow, wide])
    assert list(shapes) == ["fn"]
    assert shapes["fn"].include() == ["$identifier", "$title", "arn", "size"]
    owned = OwnedDigests(shapes["fn"])
    owned.add({"identifier": "f", "title": "F", "properties": {"arn": "a", "size": 9}})
    assert owned.classify({"identifier": "f", "properties": {"arn": "a"}}) is UNCHANGED
    assert owned.classify({"identifier": "f", "title": "F", "properties": {"arn": "a", "size": 9}}) is UNCHANGED
    assert owned.classify({"identifier": "f", "title": "F", "properties": {"arn": "a", "size": 8}}) is UPDATE
    # A shape no mapping has (cannot happen from the config) is never taken for unchanged.
    assert owned.classify({"identifier": "f", "properties": {"size": 9}}) is UPDATE
    assert len(owned) == 1 and "f" in owned
