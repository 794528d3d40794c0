"""The Python evaluator of plain jq paths agrees with jq wherever it answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from port_aws_exporter.core.jq.engine import JqError, compile_program
from port_aws_exporter.core.jq.subset import NotCertain, compile_subset

KEYS = ["a", "b", "Name", "item", "with-dash"]

json_scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=4)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(KEYS), children, max_size=4),
    max_leaves=12,
)


def _segment() -> st.SearchStrategy[str]:
    names = st.sampled_from(["a", "b", "Name", "item"])
    return st.one_of(
        names.map(lambda n: f".{n}"),
        st.sampled_from(KEYS).map(lambda n: f'."{n}"'),
        st.integers(-3, 3).map(lambda i: f"[{i}]"),
        st.tuples(st.integers(-3, 3) | st.none(), st.integers(-3, 3) | st.none())
        .filter(lambda t: t != (None, None))
        .map(lambda t: f"[{'' if t[0] is None else t[0]}:{'' if t[1] is None else t[1]}]"),
    )


paths = st.lists(_segment(), min_size=0, max_size=3).map(lambda parts: "." + "".join(parts).lstrip("."))
literals = st.sampled_from(['"x"', '"https://example.com/?arn="', "null", "true", "false", "1", "2.5", '"\\u00e9\\n"'])


def _expressions() -> st.SearchStrategy[str]:
    terms = paths | literals
    sums = st.lists(terms, min_size=1, max_size=3).map(" + ".join)
    return st.lists(sums, min_size=1, max_size=3).map(" // ".join).map(
        lambda e: e if not e.startswith(".[") else "." + e
    ) | sums.map(lambda e: f"({e})")


def _jq_first(expression: str, document: Any) -> tuple[str, Any]:
    try:
        outputs = compile_program(expression).all(document)
    except JqError as error:
        return ("error", error.message)
    return ("value", outputs[0] if outputs else None)


@settings(max_examples=600, deadline=None)
@given(_expressions(), json_values)
def test_the_subset_agrees_with_jq_or_defers(expression: str, document: Any) -> None:
    evaluator = compile_subset(expression)
    if evaluator is None:
        return
    try:
        ours = evaluator(document)
    except NotCertain:
        return
    kind, theirs = _jq_first(expression, document)
    assert kind == "value", f"jq raised {theirs!r} where the subset answered {ours!r}"
    assert json.dumps(ours, sort_keys=True) == json.dumps(theirs, sort_keys=True)
    assert type(ours) is type(theirs) or {type(ours), type(theirs)} <= {int, float}


@pytest.mark.parametrize(
    "expression",
    [
        ".FunctionName",
        ".EphemeralStorage.Size",
        '"https://console.aws.amazon.com/go/view?arn=" + .Arn',
        ".FifoQueue // false",
        ".Placement.AvailabilityZone[:-1]",
        '."with-dash"[0]',
        ".item",
        ".",
        '(.a + "x") // "none"',
    ],
)
def test_common_mapping_expressions_are_in_the_subset(expression: str) -> None:
    assert compile_subset(expression) is not None


@pytest.mark.parametrize(
    "expression",
    [
        ".a | .b",
        ".a, .b",
        ".a[]",
        ".a?",
        ".a - 1",
        '"\\(.a)"',
        "$x",
        "first(.a)",
        ".a .b",
        ".a[",
        '.a["b"]',
        "..",
        ".a # comment",
    ],
)
def test_everything_else_is_left_to_jq(expression: str) -> None:
    assert compile_subset(expression) is None
