"""Fuzz: message bodies and configs that no test author would write.

Message bodies carry JSON's edge cases: escaped lone surrogates (`"\\ud800"`, which Python's reader
takes and jq's refuses), strings near SQS's 256 KiB limit, nesting deeper than Python's or jq's
parser goes, NUL (escaped, and raw), a byte order mark before the object. Whatever a batch holds,
it answers one result per message, a message it cannot read fails alone and for good, and the jq
worker is never killed by one. Configs are drawn from the shapes of `config.json` with wrong
types, bad jq and garbage at every level: loading one either gives a config that maps documents
(mapping failures reported per field) or a `ConfigError`, never another exception.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.fetchers import fetcher_for
from port_aws_exporter.core.config import ConfigError, load_config
from port_aws_exporter.core.jq.worker import TimeLimitedJq
from port_aws_exporter.core.mapping import build_mappers
from port_aws_exporter.core.message import MessageError
from port_aws_exporter.events.batch import EventBatch
from port_aws_exporter.events.intake import parse
from port_aws_exporter.events.records import SqsRecord
from port_aws_exporter.local.soak import SOAK_CONFIG
from tests.faults.conftest import FaultStack
from tests.fixtures.local_catalog import CATALOG_INSTALLATION

# -- message bodies --------------------------------------------------------------------------

# Every code point, surrogates and controls included: json.dumps escapes what JSON must escape.
ANY_TEXT = st.text(alphabet=st.characters(codec=None), max_size=40)
EDGE_STRINGS = st.one_of(
    ANY_TEXT,
    st.sampled_from(["\ud800", "\udfff", "a\ud83d", "\ud83d\ude00", "\x00", "\ufeff", "\u2028", "é" * 3]),
    st.integers(min_value=100_000, max_value=240_000).map(lambda size: "x" * size),  # SQS allows 256 KiB
)


def _raw_json(text: str, ascii_only: bool) -> str:
    return json.dumps(text, ensure_ascii=ascii_only)


RAW_VALUES = st.one_of(
    st.builds(_raw_json, EDGE_STRINGS, st.booleans()),
    st.integers(min_value=1, max_value=15_000).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(min_value=1, max_value=3_000).map(lambda depth: '{"a":' * depth + "1" + "}" * depth),
    st.sampled_from(['"\\u0000"', '"a\\ud800b"', '"\\udc00"', "1e999", "-0", "123456789012345678901234567890"]),
)
IDENTIFIERS = st.sampled_from(['"fuzz-00000"', ".extra", ".name", ".extra | tostring | .[0:20]", '"fuzz-" + "00001"'])
ACTIONS = st.sampled_from([None, '"upsert"', '"delete"', ".extra"])


@st.composite
def bodies(draw: st.DrawFn) -> str:
    """A message body as text: the seed's fields around adversarial values, sometimes mangled."""
    fields = [
        '"resource_type": "AWS::Lambda::Function"',
        '"region": "\\"us-east-1\\""',
        f'"identifier": {json.dumps(draw(IDENTIFIERS))}',
        f'"name": {draw(RAW_VALUES)}',
        f'"extra": {draw(RAW_VALUES)}',
    ]
    action = draw(ACTIONS)
    if action is not None:
        fields.append(f'"action": {json.dumps(action)}')
    body = "{" + ", ".join(draw(st.permutations(fields))) + "}"
    mangle = draw(st.sampled_from(["none", "bom", "raw nul", "truncated", "trailing"]))
    if mangle == "bom":
        body = "\ufeff" + body
    elif mangle == "raw nul":
        body = body.replace('"name": ', '"name": "\x00" , "nul": ', 1)
    elif mangle == "truncated":
        body = body[: draw(st.integers(min_value=0, max_value=len(body) - 1))]
    elif mangle == "trailing":
        body += draw(st.sampled_from([" {}", "\x00", "\ud800", ",", " 1"]))
    return body


@pytest.fixture
def fuzz_batch(fault_stack: FaultStack) -> Iterator[tuple[EventBatch, TimeLimitedJq]]:
    fault_stack.aws.bulk_create_lambda_functions(2, prefix="fuzz")
    clients = AwsClients(max_attempts=1)
    with TimeLimitedJq(timeout_seconds=5.0) as evaluator:
        batch = EventBatch(
            load_config(SOAK_CONFIG),
            lambda spec: fetcher_for(spec, clients),
            fault_stack.port,
            evaluator,
            owned_entities_query=CATALOG_INSTALLATION.owned_entities_query,
        )
        yield batch, evaluator


def _unreadable(body: str) -> bool:
    try:
        parse(body)
    except MessageError:
        return True
    return False


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(batch_bodies=st.lists(bodies(), min_size=1, max_size=5))
def test_no_body_crashes_a_batch_or_the_jq_worker(
    fuzz_batch: tuple[EventBatch, TimeLimitedJq], batch_bodies: list[str]
) -> None:
    batch, evaluator = fuzz_batch
    restarts = evaluator.restarts
    records = [SqsRecord(f"fuzz-{n}", body) for n, body in enumerate(batch_bodies)]
    outcome = batch.process(records)
    assert [result.message_id for result in outcome.results] == [record.message_id for record in records]
    for record, result in zip(records, outcome.results, strict=True):
        assert result.acknowledged == (result.error is None)
        if _unreadable(record.body):
            assert (result.acknowledged, result.transient) == (False, False), result.error
        if result.error is not None:
            assert "Traceback" not in result.error and "evaluating the message failed" not in result.error
    assert evaluator.restarts == restarts  # no body killed the jq worker


# -- configs ---------------------------------------------------------------------------------

# jq without names (so no builtin can loop or allocate without bound) and sampled expressions.
NAMELESS_JQ = st.text(alphabet='.[]|,()"0123456789 +-:?', max_size=16)
JQ = st.one_of(
    st.sampled_from(
        [
            ".FunctionName",
            ".MemorySize",
            '.Tags[]? | select(.Key == "x") | .Value',
            "if .a then 1 else 2 end",
            ".a // 3",
        ]
    ),
    st.sampled_from(["[", "..a", "{", "if", "$ENV.HOME", "env.PATH", "input", ".a |", "@base32d", "error(.a)"]),
    NAMELESS_JQ,
)
GARBAGE = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), ANY_TEXT, st.just([]), st.just({})
)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(strategy, strategy, strategy, GARBAGE)


MAPPINGS = st.fixed_dictionaries(
    {"identifier": _maybe(JQ), "blueprint": _maybe(st.sampled_from(["fn", "q", ""]))},
    optional={
        "title": _maybe(JQ),
        "team": _maybe(JQ),
        "icon": _maybe(JQ),
        "properties": _maybe(st.dictionaries(st.sampled_from(["a", "b", "memory", ""]), _maybe(JQ), max_size=3)),
        "relations": _maybe(st.dictionaries(st.sampled_from(["region", "x"]), _maybe(JQ), max_size=2)),
        "itemsToParse": _maybe(JQ),
        "unknownKey": GARBAGE,
    },
)
RESOURCES = st.fixed_dictionaries(
    {
        "kind": _maybe(st.sampled_from(["AWS::Lambda::Function", "AWS::SQS::Queue", "AWS::Made::Up", "nope", ""])),
        "port": _maybe(
            st.fixed_dictionaries(
                {"entity": _maybe(st.fixed_dictionaries({"mappings": _maybe(st.lists(_maybe(MAPPINGS), max_size=3))}))}
            )
        ),
    },
    optional={
        "selector": _maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "query": _maybe(JQ),
                    "aws": _maybe(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "regions": _maybe(st.lists(_maybe(st.sampled_from(["us-east-1", "mars-1", ""])))),
                                "regions_config": _maybe(
                                    st.dictionaries(
                                        st.sampled_from(["us-east-1", "x"]),
                                        _maybe(
                                            st.fixed_dictionaries(
                                                {
                                                    "resources_models": _maybe(
                                                        st.lists(_maybe(st.sampled_from(["{}", "[]", "{", '{"a": 1}'])))
                                                    )
                                                }
                                            )
                                        ),
                                    )
                                ),
                                "useListProperties": GARBAGE,
                            },
                        )
                    ),
                },
            )
        )
    },
)
CONFIGS = st.one_of(
    st.fixed_dictionaries(
        {"resources": _maybe(st.lists(_maybe(RESOURCES), max_size=3))},
        optional={"deletionThreshold": GARBAGE, "extra": GARBAGE},
    ),
    GARBAGE,
)
DOCUMENTS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(ANY_TEXT, children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    document=CONFIGS,
    resources=st.lists(
        st.dictionaries(st.sampled_from(["FunctionName", "MemorySize", "Tags", "a", "item"]), DOCUMENTS, max_size=4),
        max_size=3,
    ),
)
def test_a_config_loads_and_maps_or_is_a_config_error(document: Any, resources: list[dict[str, Any]]) -> None:
    try:
        config = load_config(document)
    except ConfigError as error:
        assert error.problems and str(error)
        return
    for mapper in build_mappers(config):
        for resource in resources:
            result = mapper.map(resource)
            for failure in result.failures:
                assert failure.path.startswith(mapper.path) and failure.message
            for entity in result.entities:
                assert isinstance(entity.identifier, str) and entity.identifier
