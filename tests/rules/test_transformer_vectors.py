"""Every vector of input-transformer-vectors.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from port_aws_exporter.eventbridge.transformer import InputTransformerError, render_input, validate_target

# The docs claim this non-JSON body for CloudWatch Logs targets only (confidence low, with a typo:
# the message's closing quote is missing). The generic renderer produces valid JSON instead.
CLOUDWATCH_LOGS_ROW = "docs-cwlogs-nonjson"
# PutTargets also had InputPath: $.detail on that target (see the vector's note).
INPUT_PATH_AND_TRANSFORMER = "aws-input-path-and-transformer-rejected"


def test_all_vectors_are_present(shared_data: Path) -> None:
    data = json.loads((shared_data / "input-transformer-vectors.json").read_text(encoding="utf-8"))
    assert len(data["vectors"]) == data["meta"]["count"] == 36


def _render(vector: dict[str, Any]) -> Any:
    context = vector.get("context", {})
    return render_input(
        vector["input_paths_map"],
        vector["input_template"],
        vector["event"],
        rule_name=context.get("rule_name", "example"),
        rule_arn=context.get("rule_arn", "arn:aws:events:us-east-1:123456789012:rule/example"),
        ingestion_time=context.get("ingestion_time"),
        target_id="<target-id>",
    )


def test_transformer_vector(transformer_vector: dict[str, Any]) -> None:
    vector = transformer_vector
    if vector["id"] == INPUT_PATH_AND_TRANSFORMER:
        with pytest.raises(InputTransformerError) as raised:
            validate_target(
                "<target-id>",
                input_path="$.detail",
                input_paths_map=vector["input_paths_map"],
                input_template=vector["input_template"],
            )
        assert str(raised.value) == vector["expected_error"]["Message"]
        assert raised.value.code == vector["expected_error"]["Code"]
        return
    if vector["outcome"] == "put_targets_error":
        with pytest.raises(InputTransformerError) as raised:
            _render(vector)
        assert str(raised.value) == vector["expected_error"]["Message"]
        assert raised.value.code == vector["expected_error"]["Code"]
        return
    rendered = _render(vector)
    if vector["outcome"] == "not_delivered":
        assert rendered.delivered is False
        assert rendered.body is None
        assert rendered.error is not None and "not valid JSON" in rendered.error
        with pytest.raises(json.JSONDecodeError):
            json.loads(rendered.rendered)
        return
    assert rendered.delivered is True and rendered.error is None
    if vector["id"] == CLOUDWATCH_LOGS_ROW:
        assert json.loads(rendered.body) == {
            "timestamp": "2015-11-11T21:29:54Z",
            "message": 'instance "i-0123456789" is in RUNNING',
        }
        assert rendered.body != vector["expected_output"]
    elif vector["compare"] == "exact":
        assert rendered.body == vector["expected_output"]
    else:
        assert json.loads(rendered.body) == vector["expected_output_json"]
