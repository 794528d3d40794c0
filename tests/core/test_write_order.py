"""Entities are written after the entities of the same batch their relations point to."""

from __future__ import annotations

from typing import Any

from port_aws_exporter.core.mapping import MappedEntity
from port_aws_exporter.core.write_order import by_blueprint, relation_targets, write_rounds


def _entity(blueprint: str, identifier: str, **relations: Any) -> MappedEntity:
    body: dict[str, Any] = {"identifier": identifier, "properties": {}}
    if relations:
        body["relations"] = relations
    return MappedEntity(blueprint, body, "resources[0].port.entity.mappings[0]")


def _ids(rounds: list[list[MappedEntity]]) -> list[list[str]]:
    return [[entity.identifier for entity in batch] for batch in rounds]


def test_relation_targets_from_strings_lists_and_nulls() -> None:
    assert relation_targets({"relations": {"a": "x", "b": ["y", "z", None], "c": None}}) == {"x", "y", "z"}
    assert relation_targets({"identifier": "i"}) == set()


def test_targets_come_first_and_independent_entities_stay_in_the_first_round() -> None:
    rounds = write_rounds(
        [
            _entity("sns", "topic", queues=["q1", "q2"]),
            _entity("sqs", "q1"),
            _entity("sqs", "q2"),
            _entity("lambda", "fn"),
            _entity("sns", "other", queues=["not-in-batch"]),
        ]
    )
    assert _ids(rounds) == [["q1", "q2", "fn", "other"], ["topic"]]


def test_chains_take_several_rounds_and_self_relations_do_not_block() -> None:
    rounds = write_rounds(
        [_entity("svc", "c", parent="b"), _entity("svc", "b", parent="a"), _entity("svc", "a", parent="a")]
    )
    assert _ids(rounds) == [["a"], ["b"], ["c"]]


def test_a_cycle_is_written_together_last() -> None:
    rounds = write_rounds([_entity("x", "free"), _entity("x", "p", peer="q"), _entity("x", "q", peer="p")])
    assert _ids(rounds) == [["free"], ["p", "q"]]


def test_by_blueprint_keeps_order() -> None:
    groups = by_blueprint([_entity("a", "1"), _entity("b", "2"), _entity("a", "3")])
    assert {bp: [e.identifier for e in group] for bp, group in groups.items()} == {"a": ["1", "3"], "b": ["2"]}
