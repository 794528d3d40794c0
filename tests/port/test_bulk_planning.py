from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from port_aws_exporter.port.bulk import (
    MAX_BODY_BYTES,
    MAX_BULK_ENTITIES,
    EntityWriteResult,
    body_size,
    bulk_body,
    encode_entity,
    identifier_of,
    map_bulk_response,
    plan_chunks,
)


def test_encode_entity_drops_the_blueprint_key() -> None:
    assert json.loads(encode_entity({"identifier": "a", "blueprint": "b", "title": "é"})) == {
        "identifier": "a",
        "title": "é",
    }


def test_body_size_matches_the_real_body() -> None:
    payloads = [encode_entity({"identifier": f"e{i}", "properties": {"x": "y" * i}}) for i in range(5)]
    assert body_size([len(p) for p in payloads]) == len(bulk_body(payloads))
    assert json.loads(bulk_body(payloads))["entities"][3]["identifier"] == "e3"


@given(st.lists(st.integers(min_value=2, max_value=400_000), max_size=80))
def test_chunks_hold_every_entity_once_in_order_and_within_limits(sizes: list[int]) -> None:
    chunks, too_large = plan_chunks(sizes)
    positions = [position for chunk in chunks for position in chunk]
    assert positions == sorted(positions)
    assert sorted(positions + too_large) == list(range(len(sizes)))
    for chunk in chunks:
        assert 1 <= len(chunk) <= MAX_BULK_ENTITIES
        assert body_size([sizes[position] for position in chunk]) <= MAX_BODY_BYTES


def test_an_entity_over_the_limit_alone_is_never_sent() -> None:
    chunks, too_large = plan_chunks([10, MAX_BODY_BYTES, 10])
    assert chunks == [[0, 2]]
    assert too_large == [1]


def test_21_small_entities_make_two_requests() -> None:
    chunks, _ = plan_chunks([50] * 21)
    assert [len(chunk) for chunk in chunks] == [20, 1]


def test_207_is_mapped_back_by_index() -> None:
    body = {
        "ok": False,
        "entities": [
            {"created": True, "identifier": "a", "index": 0},
            {"created": False, "identifier": "c", "index": 2},
        ],
        "errors": [{"identifier": "b", "index": 1, "statusCode": 422, "error": "schema_mismatch", "message": "bad"}],
    }
    assert map_bulk_response(body, ["a", "b", "c"], 207) == [
        EntityWriteResult("a", True),
        EntityWriteResult("b", False, "schema_mismatch", "bad", 422, False),
        EntityWriteResult("c", True),
    ]


def test_an_entity_the_answer_forgets_is_not_reported_written() -> None:
    body = {"ok": True, "entities": [{"identifier": "a", "index": 0}], "errors": []}
    results = map_bulk_response(body, ["a", "b"], 200)
    assert results[0].ok is True
    assert results[1].ok is False
    assert results[1].error == "missing_result"
    assert results[1].transient is True


def test_identifier_of_a_query_identifier_is_its_json() -> None:
    assert identifier_of({"identifier": "x"}) == "x"
    assert identifier_of({"identifier": {"combinator": "and", "rules": []}}) == '{"combinator": "and", "rules": []}'
