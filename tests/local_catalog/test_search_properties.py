"""Property tests of search: the SQL prefilter never changes an answer, operators are consistent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from port_aws_exporter.local.catalog import CatalogDatabase, CatalogService, WriteOptions, Writer, store
from port_aws_exporter.local.catalog.search import SqlPrefilter, compile_query
from port_aws_exporter.port.blueprint_order import order_by_relations

BLUEPRINTS = ("alpha", "beta")
IDENTIFIERS = tuple(f"id-{index}" for index in range(12))
SOURCES = (
    "port-aws-exporter/0.1.0 (accountid/123456789012 region/us-east-1)",
    "port-aws-exporter/0.1.0 (accountid/123456789012 region/eu-west-1)",
    "port-ocean/aws/x/1.0/exporter",
)
SIZES = (None, 1, 2, 3)


@pytest.fixture(scope="module")
def populated(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[CatalogService, list[dict[str, Any]]]]:
    service = CatalogService(CatalogDatabase(Path(tmp_path_factory.mktemp("search")) / "c.db"))
    for blueprint in BLUEPRINTS:
        body = {
            "identifier": blueprint,
            "title": blueprint,
            "schema": {"properties": {"size": {"type": "number"}}},
        }
        service.create_blueprint(body, Writer("t", "t"))
    for index, identifier in enumerate(IDENTIFIERS):
        for offset, blueprint in enumerate(BLUEPRINTS):
            if (index + offset) % 3 == 0:
                continue
            size = SIZES[(index + offset) % len(SIZES)]
            entity = {"identifier": identifier, "properties": {} if size is None else {"size": size}}
            service.write_entity(blueprint, entity, WriteOptions(), Writer("t", SOURCES[(index * 7 + offset) % 3]))
    # Every stored entity, with its $datasource, read without any prefilter.
    rows = list(store.scan_entities(service.database.connection(), SqlPrefilter()))
    yield service, rows
    service.database.close()


def _rules() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(
            lambda v: {"property": "$blueprint", "operator": "=", "value": v},
            st.sampled_from([*BLUEPRINTS, "gamma"]),
        ),
        st.builds(
            lambda v: {"property": "$blueprint", "operator": "in", "value": v},
            st.lists(st.sampled_from(BLUEPRINTS), max_size=2),
        ),
        st.builds(lambda v: {"property": "$identifier", "operator": "=", "value": v}, st.sampled_from(IDENTIFIERS)),
        st.builds(
            lambda v: {"property": "$identifier", "operator": "in", "value": v},
            st.lists(st.sampled_from(IDENTIFIERS), max_size=4),
        ),
        st.builds(
            lambda v: {"property": "$datasource", "operator": "contains", "value": v},
            st.sampled_from(["port-aws-exporter", "region/us-east-1)", "ocean", "accountid/123456789012"]),
        ),
        st.builds(lambda v: {"property": "size", "operator": ">=", "value": v}, st.integers(0, 4)),
        st.builds(lambda v: {"property": "size", "operator": "isEmpty"}, st.none()),
    )


queries = st.recursive(
    st.builds(
        lambda c, r: {"combinator": c, "rules": r},
        st.sampled_from(["and", "or"]),
        st.lists(_rules(), max_size=4),
    ),
    lambda inner: st.builds(
        lambda c, r: {"combinator": c, "rules": r},
        st.sampled_from(["and", "or"]),
        st.lists(st.one_of(_rules(), inner), max_size=3),
    ),
    max_leaves=8,
)


# Top-level `and` queries are the ones the SQL prefilter narrows: draw many of them.
prefiltered = st.builds(lambda r: {"combinator": "and", "rules": r}, st.lists(_rules(), min_size=1, max_size=2))


@settings(max_examples=300, deadline=None)
@given(query=st.one_of(queries, prefiltered, prefiltered))
def test_search_answers_exactly_what_the_query_selects(
    populated: tuple[CatalogService, list[dict[str, Any]]], query: dict[str, Any]
) -> None:
    service, rows = populated
    expected = sorted((row["blueprint"], row["identifier"]) for row in rows if compile_query(query)(row))
    found = sorted((entity["blueprint"], entity["identifier"]) for entity in service.search(query)["entities"])
    assert found == expected


values = st.one_of(
    st.none(),
    st.integers(-3, 3),
    st.sampled_from(["a", "ab", "b", ""]),
    st.lists(st.sampled_from(["a", "b"]), max_size=2),
)


@given(actual=values, options=st.lists(st.one_of(st.integers(-3, 3), st.sampled_from(["a", "b"])), max_size=3))
def test_in_is_any_equal_and_not_in_is_its_negation(actual: Any, options: list[Any]) -> None:
    entity = {"properties": {"x": actual}}

    def matches(operator: str, value: Any) -> bool:
        return compile_query({"combinator": "and", "rules": [{"property": "x", "operator": operator, "value": value}]})(
            entity
        )

    assert matches("in", options) == any(matches("=", option) for option in options)
    assert matches("notIn", options) is not matches("in", options)
    for option in options:
        assert matches("!=", option) is not matches("=", option)


def test_blueprints_are_ordered_targets_first() -> None:
    a = {"identifier": "a", "relations": {"to_b": {"target": "b"}, "to_self": {"target": "a"}}}
    b = {"identifier": "b", "relations": {"to_c": {"target": "c"}, "outside": {"target": "region"}}}
    c = {"identifier": "c", "relations": {}}
    loop_x = {"identifier": "x", "relations": {"y": {"target": "y"}}}
    loop_y = {"identifier": "y", "relations": {"x": {"target": "x"}}}
    ordered = order_by_relations([a, loop_x, b, loop_y, c])
    assert [blueprint["identifier"] for blueprint in ordered] == ["c", "b", "a", "x", "y"]
