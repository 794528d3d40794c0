"""The event message: parsed as the seed defines it, its jq evaluated sandboxed, every failure a MessageError."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from port_aws_exporter.core.jq.worker import TimeLimitedJq
from port_aws_exporter.core.message import EvaluatedMessage, MessageError, evaluate_message, parse_message

SEED_MESSAGE = {
    "requestFunctionName": "test-function",
    "responseFunctionName": "",
    "eventName": "DeleteFunction20150331",
    "resource_type": "AWS::Lambda::Function",
    "region": '"eu-west-1"',
    "identifier": 'if .responseFunctionName != "" then .responseFunctionName else .requestFunctionName end',
    "action": 'if .eventName | startswith("Delete") then "delete" else "upsert" end',
}


@pytest.fixture(scope="module")
def evaluator() -> Iterator[TimeLimitedJq]:
    with TimeLimitedJq(timeout_seconds=1.0) as jq:
        yield jq


def evaluated(body: Any, evaluator: TimeLimitedJq) -> EvaluatedMessage:
    return evaluate_message(parse_message(body), evaluator)


def reason(body: Any, evaluator: TimeLimitedJq) -> str:
    with pytest.raises(MessageError) as caught:
        evaluated(body, evaluator)
    assert str(caught.value) == caught.value.reason
    return caught.value.reason


class TestParse:
    def test_the_seed_message_from_text_bytes_or_object(self) -> None:
        text = json.dumps(SEED_MESSAGE)
        for body in (text, text.encode(), SEED_MESSAGE):
            message = parse_message(body)
            assert message.resource_type == "AWS::Lambda::Function"
            assert message.region == '"eu-west-1"'
            assert message.action == SEED_MESSAGE["action"]
            assert message.body["eventName"] == "DeleteFunction20150331"
        assert parse_message(text).text == text
        assert parse_message(SEED_MESSAGE).text is None

    def test_action_is_optional(self) -> None:
        body = {key: value for key, value in SEED_MESSAGE.items() if key != "action"}
        assert parse_message(body).action is None

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            (b"\xff{}", "the message is not UTF-8 text"),
            ("{not json", "the message is not valid JSON"),
            ('{"resource_type": "K\ud800"}', "the message is not Unicode text: surrogates not allowed (U+D800 at"),
            ('{"resource_type": NaN}', "NaN is not valid JSON"),
            ("[1, 2]", "the message must be a JSON object, not an array"),
            ('"text"', "the message must be a JSON object, not a string"),
            ({"region": '"r"', "identifier": '"i"'}, "the message has no 'resource_type'"),
            ({"resource_type": 3, "region": '"r"', "identifier": '"i"'}, "'resource_type' must be a non-empty string"),
            ({"resource_type": " ", "region": '"r"', "identifier": '"i"'}, "'resource_type' must be a non-empty"),
            ({"resource_type": "K", "identifier": '"i"'}, "the message has no 'region'"),
            ({"resource_type": "K", "region": '"r"'}, "the message has no 'identifier'"),
            ({"resource_type": "K", "region": ["r"], "identifier": '"i"'}, "'region' must be a non-empty jq program"),
            ({"resource_type": "K", "region": '"r"', "identifier": ""}, "'identifier' must be a non-empty jq"),
            ({"resource_type": "K", "region": '"r"', "identifier": '"i"', "action": None}, "'action' must be"),
        ],
    )
    def test_malformed_messages(self, body: Any, expected: str) -> None:
        with pytest.raises(MessageError) as caught:
            parse_message(body)
        assert expected in caught.value.reason

    def test_message_error_is_a_value_error(self) -> None:
        assert issubclass(MessageError, ValueError)


class TestEvaluate:
    def test_the_seed_message(self, evaluator: TimeLimitedJq) -> None:
        assert evaluated(json.dumps(SEED_MESSAGE), evaluator) == EvaluatedMessage(
            resource_type="AWS::Lambda::Function", region="eu-west-1", action="delete", identifier="test-function"
        )

    def test_programs_read_the_message_itself_from_an_object_too(self, evaluator: TimeLimitedJq) -> None:
        body = {**SEED_MESSAGE, "responseFunctionName": "from-response", "eventName": "CreateFunction20150331"}
        result = evaluated(body, evaluator)
        assert (result.identifier, result.action) == ("from-response", "upsert")

    def test_action_defaults_to_upsert_and_is_case_insensitive(self, evaluator: TimeLimitedJq) -> None:
        base = {"resource_type": "K", "region": '"r"', "identifier": '"i"'}
        assert evaluated(base, evaluator).action == "upsert"
        assert evaluated({**base, "action": '"DELETE"'}, evaluator).action == "delete"
        assert evaluated({**base, "action": '" Upsert "'}, evaluator).action == "upsert"

    def test_first_output_only(self, evaluator: TimeLimitedJq) -> None:
        body = {"resource_type": "K", "region": '"a", "b"', "identifier": ".ids[]", "ids": ["x", "y"]}
        result = evaluated(body, evaluator)
        assert (result.region, result.identifier) == ("a", "x")

    def test_unquoted_placeholder_is_a_jq_error_naming_the_field(self, evaluator: TimeLimitedJq) -> None:
        """Port's EKS example renders `"region": "eu-west-1"`: jq reads a subtraction of undefined names."""
        text = reason({"resource_type": "AWS::EKS::Cluster", "region": "eu-west-1", "identifier": '"c"'}, evaluator)
        assert text.startswith("region: jq `eu-west-1` failed:")
        assert "not defined" in text

    def test_runtime_error(self, evaluator: TimeLimitedJq) -> None:
        text = reason({"resource_type": "K", "region": '"r"', "identifier": '.a | split("/")', "a": 1}, evaluator)
        assert text.startswith('identifier: jq `.a | split("/")` failed:')
        assert "must be strings" in text

    def test_a_message_jq_cannot_read_says_so_and_names_no_field(self, evaluator: TimeLimitedJq) -> None:
        text = '{"resource_type": "K", "region": "\\"r\\"", "identifier": ".name", "name": "\\ud800"}'
        with pytest.raises(MessageError) as caught:
            evaluate_message(parse_message(text), evaluator)
        assert caught.value.reason.startswith("jq cannot read the message: parse error: Invalid \\uXXXX")
        assert (caught.value.field, caught.value.problem) == (None, "malformed")
        assert evaluated({**SEED_MESSAGE}, evaluator).identifier == "test-function"  # the worker serves on

    def test_time_limit(self) -> None:
        with TimeLimitedJq(timeout_seconds=0.3) as quick:
            text = reason({"resource_type": "K", "region": '"r"', "identifier": "def f: f; f"}, quick)
        assert "exceeded its time limit" in text

    @pytest.mark.parametrize(
        ("field", "program", "expected"),
        [
            ("identifier", '""', 'identifier: jq `""` gave a string `""`, not a non-empty string'),
            ("identifier", "empty", "identifier: jq `empty` gave nothing (null), not a non-empty string"),
            ("identifier", "42", "identifier: jq `42` gave a number `42`, not a non-empty string"),
            ("region", "null", "region: jq `null` gave nothing (null), not a non-empty string"),
            ("action", '"remove"', 'action: jq `"remove"` gave `"remove"`, not upsert or delete'),
            ("action", "true", "action: jq `true` gave `true`, not upsert or delete"),
        ],
    )
    def test_values_of_the_wrong_kind(self, evaluator: TimeLimitedJq, field: str, program: str, expected: str) -> None:
        body = {"resource_type": "K", "region": '"r"', "identifier": '"i"', field: program}
        assert reason(body, evaluator) == expected

    def test_long_programs_are_cut_short_in_the_reason(self, evaluator: TimeLimitedJq) -> None:
        program = '"' + "x" * 500 + '" | error'
        text = reason({"resource_type": "K", "region": '"r"', "identifier": program}, evaluator)
        assert len(text) < 400 and "…" in text
