"""Property-based tests: the matcher and the renderer never crash on arbitrary JSON, and patterns
built from an event's own values match it."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from port_aws_exporter.eventbridge.pattern import InvalidPatternError, PatternMatch, compile_pattern
from port_aws_exporter.eventbridge.transformer import (
    PREDEFINED_VARIABLES,
    InputTransformerError,
    RenderedInput,
    render_input,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = st.one_of(
    st.sampled_from(["a", "b", "detail", "source", "a.b", "", "$or", "prefix", "items", "x-y"]),
    st.text(max_size=6),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["10.0.0.1", "2001:db8::1", "CreateFunction20150331", "aws.lambda"]),
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=25,
)
OPERATORS = [
    "prefix",
    "suffix",
    "equals-ignore-case",
    "wildcard",
    "anything-but",
    "numeric",
    "exists",
    "cidr",
    "EXISTS",
]
OPERANDS = st.one_of(
    JSON,
    st.sampled_from(
        [
            ["<", 5],
            [">", 0, "<=", 10],
            "10.0.0.0/8",
            "2001:db8::/32",
            "*a*",
            "a**",
            {"prefix": "x"},
            {"equals-ignore-case": "X"},
            {"wildcard": ["*x*"]},
        ]
    ),
)
TEXT = st.text(alphabet="abcAB.-:/ 1", max_size=6)
VALID_EXPRESSIONS = st.one_of(
    st.builds(lambda text: {"prefix": text}, TEXT),
    st.builds(lambda text: {"suffix": {"equals-ignore-case": text}}, TEXT),
    st.builds(lambda text: {"equals-ignore-case": text}, TEXT),
    st.builds(lambda text: {"wildcard": text}, st.text(alphabet="ab*:", max_size=6).filter(lambda t: "**" not in t)),
    st.builds(lambda texts: {"anything-but": texts}, st.lists(TEXT, min_size=1, max_size=3)),
    st.builds(lambda number: {"anything-but": number}, st.integers(-5, 5)),
    st.builds(lambda text: {"anything-but": {"prefix": text}}, TEXT.filter(bool)),
    st.builds(lambda low, width: {"numeric": [">=", low, "<", low + width]}, st.integers(-5, 5), st.integers(1, 5)),
    st.builds(lambda flag: {"exists": flag}, st.booleans()),
    st.sampled_from([{"cidr": "10.0.0.0/8"}, {"cidr": "2001:db8::/32"}]),
)
ANY_EXPRESSIONS = st.dictionaries(st.sampled_from(OPERATORS), OPERANDS, min_size=1, max_size=2)
MATCHERS = st.lists(st.one_of(SCALARS, VALID_EXPRESSIONS, VALID_EXPRESSIONS, ANY_EXPRESSIONS), min_size=1, max_size=3)
PATTERN_LIKE = st.recursive(
    st.dictionaries(KEYS, MATCHERS, min_size=1, max_size=3),
    lambda children: st.dictionaries(
        KEYS,
        st.one_of(MATCHERS, children, st.lists(children, min_size=2, max_size=3)),
        min_size=1,
        max_size=3,
    ),
    max_leaves=8,
)

FIXED_PATTERNS = [
    compile_pattern(pattern)
    for pattern in (
        {
            "source": ["aws.lambda"],
            "detail": {"eventName": [{"prefix": "Create"}], "errorCode": [{"exists": False}]},
        },
        {
            "a": [{"anything-but": ["x"]}, {"numeric": [">", 0]}],
            "$or": [{"b": [None, True]}, {"items": {"a": ["1"]}}],
        },
        {"a.b": [{"cidr": "10.0.0.0/8"}, {"wildcard": "*x*"}, {"equals-ignore-case": "AB"}, "2001:db8::1"]},
        {"items": {"a": [{"exists": True}], "b": [{"exists": False}]}},
    )
]


@SETTINGS
@given(event=JSON)
def test_fixed_patterns_never_crash_on_any_event(event: Any) -> None:
    for pattern in FIXED_PATTERNS:
        result = pattern.match(event)
        assert isinstance(result, PatternMatch)
        assert (result.failed_field is None) is result.matched


@SETTINGS
@given(pattern=st.one_of(JSON, PATTERN_LIKE), event=JSON)
def test_any_pattern_compiles_or_is_invalid_and_then_matches_without_crashing(pattern: Any, event: Any) -> None:
    try:
        compiled = compile_pattern(pattern)
    except InvalidPatternError as exc:
        assert str(exc).startswith("Event pattern is not valid. Reason: ")
        return
    result = compiled.match(event)
    assert isinstance(result, PatternMatch)
    # The JSON text of the same pattern gives the same answer.
    assert compile_pattern(json.dumps(pattern)).match(event).matched is result.matched


def leaf_paths(node: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """(keys, value) of every leaf reached through objects only."""
    if isinstance(node, dict):
        return [found for key, child in node.items() for found in leaf_paths(child, (*prefix, key))]
    if isinstance(node, list):
        return []
    return [(prefix, node)] if prefix else []


def nested(keys: tuple[str, ...], matchers: list[Any]) -> dict[str, Any]:
    pattern: Any = matchers
    for key in reversed(keys):
        pattern = {key: pattern}
    assert isinstance(pattern, dict)
    return pattern


@SETTINGS
@given(event=st.dictionaries(KEYS, JSON, min_size=1, max_size=5), data=st.data())
def test_a_pattern_of_an_events_own_value_matches_it(event: dict[str, Any], data: st.DataObject) -> None:
    paths = [(keys, value) for keys, value in leaf_paths(event) if "$or" not in keys]
    if not paths:
        return
    keys, value = data.draw(st.sampled_from(paths))
    assert compile_pattern(nested(keys, [value])).match(event).matched
    assert compile_pattern(nested(keys, [{"exists": True}])).match(event).matched
    assert not compile_pattern(nested(keys, [{"exists": False}])).match(event).matched
    if isinstance(value, str):
        assert compile_pattern(nested(keys, [{"prefix": value[:2]}])).match(event).matched
        assert not compile_pattern(nested(keys, [{"anything-but": value}])).match(event).matched


VARIABLE_NAMES = st.text(alphabet="abcXYZ019_-", min_size=1, max_size=6)
PATHS = st.one_of(
    st.sampled_from(["$", "$.a", "$.a.b", "$.items[0]", "$.items[*].a", "$.detail.*", "$['a']", "a.b", "$..a"]),
    st.text(max_size=10).map(lambda text: "$." + text),
)
TEMPLATE_PIECES = st.one_of(
    st.sampled_from(['{"k": ', "}", '"', ", ", "[", "]", ":", "\\", " ", "\n", "<", ">", "text"]),
    st.text(max_size=4),
)


@SETTINGS
@given(
    paths=st.dictionaries(VARIABLE_NAMES, PATHS, max_size=4),
    pieces=st.lists(st.one_of(TEMPLATE_PIECES, st.just("PLACEHOLDER")), min_size=1, max_size=10),
    picks=st.lists(st.integers(min_value=0, max_value=20), min_size=10, max_size=10),
    event=JSON,
)
def test_renderer_never_crashes(paths: dict[str, str], pieces: list[str], picks: list[int], event: Any) -> None:
    names = [*paths, *sorted(PREDEFINED_VARIABLES)]
    template = "".join(
        f"<{names[picks[index] % len(names)]}>" if piece == "PLACEHOLDER" else piece
        for index, piece in enumerate(pieces)
    )
    try:
        rendered = render_input(paths, template, event, rule_name="r", rule_arn="arn:aws:events:r:1:rule/r")
    except InputTransformerError as exc:
        assert "target target" in str(exc)
        return
    assert isinstance(rendered, RenderedInput)
    assert rendered.delivered is (rendered.body is not None) is (rendered.error is None)
    if rendered.delivered and template.lstrip().startswith("{"):
        json.loads(rendered.body)  # type: ignore[arg-type]


SEED_PATHS = {
    "awsRegion": "$.detail.awsRegion",
    "eventName": "$.detail.eventName",
    "requestFunctionName": "$.detail.requestParameters.functionName",
    "responseFunctionName": "$.detail.responseElements.functionName",
}
SEED_TEMPLATE = '{"requestFunctionName": "<requestFunctionName>", "region": "\\"<awsRegion>\\"", "e": <eventName>}'


@SETTINGS
@given(event=JSON)
def test_seed_transformer_never_crashes(event: Any) -> None:
    rendered = render_input(SEED_PATHS, SEED_TEMPLATE, event, rule_name="r", rule_arn="arn")
    if rendered.delivered:
        assert set(json.loads(rendered.body)) == {"requestFunctionName", "region", "e"}  # type: ignore[arg-type]
    else:
        assert rendered.error is not None and "not valid JSON" in rendered.error
