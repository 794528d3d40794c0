"""InputTransformer behaviour beyond the shared vectors: validation limits, JSONPath subset, targets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from port_aws_exporter.eventbridge.transformer import (
    InputTransformerError,
    Placeholder,
    RenderedInput,
    build_rule_arn,
    compile_input_transformer,
    render_input,
    render_target_input,
    validate_input_transformer,
    validate_target,
)

RULE: dict[str, Any] = {"rule_name": "sync", "rule_arn": "arn:aws:events:eu-west-1:123456789012:rule/sync"}
EVENT: dict[str, Any] = {
    "id": "1",
    "detail-type": "Thing Happened",
    "time": "2024-01-02T03:04:05Z",
    "resources": ["arn:a", "arn:b"],
    "detail": {
        "name": 'say "hi"\\',
        "count": 3,
        "ratio": 0.5,
        "flag": False,
        "nothing": None,
        "items": [{"id": "x"}, {"id": "y"}],
        "path/with-slash": "ok",
    },
}


def parsed(rendered: RenderedInput) -> Any:
    assert rendered.body is not None, rendered.error
    return json.loads(rendered.body)


def render(template: str, **paths: str) -> Any:
    return render_input(paths, template, EVENT, **RULE)


class TestValidation:
    def test_at_most_100_variables(self) -> None:
        paths = {f"v{index}": "$.id" for index in range(101)}
        with pytest.raises(InputTransformerError, match="101 entries; at most 100"):
            validate_input_transformer(paths, '"x"', "t1")
        validate_input_transformer(dict(list(paths.items())[:100]), '"x"', "t1")

    @pytest.mark.parametrize("key", ["AWS.events", "aws.events.rule-name", "has space", "", "x" * 257])
    def test_reserved_or_malformed_keys(self, key: str) -> None:
        with pytest.raises(InputTransformerError, match="invalid key"):
            validate_input_transformer({key: "$.id"}, '"x"', "t1")

    def test_template_length(self) -> None:
        with pytest.raises(InputTransformerError, match="1 to 8192 characters"):
            validate_input_transformer({}, "", "t1")
        with pytest.raises(InputTransformerError, match="it has 8193"):
            validate_input_transformer({}, '"' + "x" * 8191 + '"', "t1")
        validate_input_transformer({}, '"' + "x" * 8190 + '"', "t1")

    def test_path_length(self) -> None:
        with pytest.raises(InputTransformerError, match="at most 256 characters"):
            validate_input_transformer({"a": "$." + "x" * 255}, "<a>", "t1")

    @pytest.mark.parametrize("template", ["{<k>: 1}", '{"<k>": 1}', '{"a": {"pre-<k>" : 2}}'])
    def test_placeholder_cannot_be_an_object_key(self, template: str) -> None:
        with pytest.raises(InputTransformerError, match="<k> as an object key"):
            validate_input_transformer({"k": "$.id"}, template, "t1")

    def test_placeholder_as_value_next_to_colon_text_is_fine(self) -> None:
        validate_input_transformer({"k": "$.id"}, '{"a": "<k>: text", "b": <k>}', "t1")

    def test_first_invalid_placeholder_is_named(self) -> None:
        with pytest.raises(InputTransformerError) as raised:
            validate_input_transformer({"a": "$.id"}, '"<a> <b> <c>"', "my-target")
        assert str(raised.value) == "InputTemplate for target my-target contains invalid placeholder b."

    def test_angle_brackets_that_are_not_placeholders_stay_text(self) -> None:
        rendered = render('{"jq": "if .a < 3 and .b > 2 then <k> else 0 end"}', k="$.detail.count")
        assert parsed(rendered) == {"jq": "if .a < 3 and .b > 2 then 3 else 0 end"}

    def test_target_input_must_be_json(self) -> None:
        with pytest.raises(InputTransformerError, match="Input for target t1 is not valid JSON"):
            validate_target("t1", input="{not json")
        validate_target("t1", input='{"a": 1}')

    def test_only_one_way_to_shape_input(self) -> None:
        with pytest.raises(InputTransformerError, match="Only one of Input, InputPath, or InputTransformer"):
            validate_target("t1", input="{}", input_path="$.detail")


class TestRendering:
    def test_unquoted_string_is_json_encoded_quoted_is_raw(self) -> None:
        rendered = render('{"u": <n>, "q": "<n>"}', n="$.detail.name")
        assert rendered.rendered == '{"u": "say \\"hi\\"\\\\", "q": "say "hi"\\"}'
        assert rendered.delivered is False
        assert rendered.error is not None and "not valid JSON" in rendered.error

    def test_numbers_booleans_null(self) -> None:
        rendered = render(
            '{"c": <c>, "r": <r>, "f": <f>, "n": <n>, "s": "<c>/<f>/<n>/<r>"}',
            c="$.detail.count",
            r="$.detail.ratio",
            f="$.detail.flag",
            n="$.detail.nothing",
        )
        assert parsed(rendered) == {"c": 3, "r": 0.5, "f": False, "n": None, "s": "3/false//0.5"}
        assert rendered.missing == ()

    def test_missing_paths_are_reported(self) -> None:
        rendered = render('{"a": <a>, "b": "<b>"}', a="$.detail.absent", b="$.detail.nothing.deeper")
        assert parsed(rendered) == {"a": "", "b": ""}
        assert rendered.missing == ("a", "b")

    def test_jsonpath_subset(self) -> None:
        rendered = render(
            '{"first": <f>, "last": <l>, "all": <all>, "ids": <ids>, "slash": <s>, "root": <root>}',
            f="$.resources[0]",
            l="$.resources[-1]",
            all="$.resources[*]",
            ids="$.detail.items[*].id",
            s="$.detail.path/with-slash",
            root="$",
        )
        body = parsed(rendered)
        assert body["first"] == "arn:a" and body["last"] == "arn:b"
        assert body["all"] == ["arn:a", "arn:b"] and body["ids"] == ["x", "y"]
        assert body["slash"] == "ok"
        assert body["root"] == EVENT

    def test_paths_outside_the_subset_find_nothing_and_say_why(self) -> None:
        rendered = render('{"a": <a>, "b": <b>}', a="detail.name", b="$['detail']")
        assert parsed(rendered) == {"a": "", "b": ""}
        assert rendered.missing == ("a", "b")
        assert len(rendered.notes) == 2 and "does not start with '$'" in rendered.notes[0]

    def test_string_template_is_not_checked_as_json(self) -> None:
        rendered = render('"<n>" and more', n="$.detail.name")
        assert rendered.delivered is True
        assert rendered.body == '"say "hi"\\" and more'

    def test_ingestion_time(self) -> None:
        template = '"<aws.events.event.ingestion-time>"'
        assert render(template).body == '"2024-01-02T03:04:05Z"'
        at = datetime(2024, 5, 6, 9, 8, 7, tzinfo=timezone(timedelta(hours=2)))
        assert render_input({}, template, EVENT, ingestion_time=at, **RULE).body == '"2024-05-06T07:08:07Z"'
        naive = render_input({}, template, {}, ingestion_time=datetime(2024, 1, 1), **RULE).body
        assert naive == '"2024-01-01T00:00:00Z"'
        now = render_input({}, template, {}, **RULE).body
        assert now is not None and now.startswith('"' + str(datetime.now(UTC).year))

    def test_event_variable_drops_detail_and_renames_detail_type(self) -> None:
        body = parsed(render_input({}, '{"e": <aws.events.event>}', EVENT, ingestion_time="T", **RULE))
        assert body["e"] == {
            "id": "1",
            "detailType": "Thing Happened",
            "time": "T",
            "resources": ["arn:a", "arn:b"],
        }

    def test_compiled_transformer_is_reused(self) -> None:
        first = compile_input_transformer({"a": "$.id"}, "<a>", target_id="t")
        assert compile_input_transformer({"a": "$.id"}, "<a>", target_id="t") is first
        assert first.render({"id": 7}, **RULE).body == "7"

    def test_placeholders_say_how_they_are_quoted(self) -> None:
        transformer = compile_input_transformer(
            {"r": "$.region", "n": "$.id"}, '{"region": "\\"<r>\\"", "id": "<n>", "raw": <n>}'
        )
        assert transformer.placeholders == [
            Placeholder(name="r", quoted=True),
            Placeholder(name="n", quoted=True),
            Placeholder(name="n", quoted=False),
        ]


class TestTargetInput:
    def test_no_shaping_sends_the_whole_event(self) -> None:
        rendered = render_target_input(EVENT, **RULE)
        assert rendered.delivered and parsed(rendered) == EVENT

    def test_constant_input(self) -> None:
        assert render_target_input(EVENT, input='{"x": 1}', **RULE).body == '{"x": 1}'

    def test_input_path(self) -> None:
        rendered = render_target_input(EVENT, input_path="$.detail.items[1]", **RULE)
        assert parsed(rendered) == {"id": "y"}
        missing = render_target_input(EVENT, input_path="$.detail.absent", **RULE)
        assert missing.delivered is False and missing.error == "InputPath '$.detail.absent' finds nothing in the event"

    def test_transformer(self) -> None:
        rendered = render_target_input(EVENT, input_paths_map={"c": "$.detail.count"}, input_template="<c>", **RULE)
        assert rendered.body == "3"


def test_rule_arn() -> None:
    assert build_rule_arn("eu-west-1", "123456789012", "r") == "arn:aws:events:eu-west-1:123456789012:rule/r"
    assert build_rule_arn("eu-west-1", "1", "r", "my-bus") == "arn:aws:events:eu-west-1:1:rule/my-bus/r"
    bus_arn = "arn:aws:events:eu-west-1:1:event-bus/my-bus"
    assert build_rule_arn("eu-west-1", "1", "r", bus_arn) == "arn:aws:events:eu-west-1:1:rule/my-bus/r"
