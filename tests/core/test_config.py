"""config.json: compatibility with the original's format, and every problem reported at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from port_aws_exporter.core.config import ConfigError, check_config, load_config

NOT_CONFIGS = ("blueprint", "iam-policy", "index", "parameters", "schema", "default-policy")


def _example_configs(shared_data: Path) -> list[Path]:
    return sorted(
        path
        for path in (shared_data / "port-examples").glob("*.json")
        if not any(marker in path.name for marker in NOT_CONFIGS)
    )


def test_every_example_config_loads_except_the_malformed_one(shared_data: Path) -> None:
    configs = _example_configs(shared_data)
    assert len(configs) >= 20
    for path in configs:
        if path.name == "cloudformation.mapping.json":
            continue
        config = load_config(path)
        assert config.resources, path.name
        for resource in config.resources:
            assert resource.port.entity.mappings, path.name


def test_the_malformed_cloudformation_example_is_rejected_with_a_hint(shared_data: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(shared_data / "port-examples" / "cloudformation.mapping.json")
    (problem,) = raised.value.problems
    assert "single resources[] entry" in problem.message
    assert '{"resources": [ ... ]}' in problem.message


def test_the_eks_examples_misplaced_relations_is_a_warning(shared_data: Path) -> None:
    report = check_config(json.loads((shared_data / "port-examples" / "eks.mapping.json").read_text()))
    assert report.valid
    assert [(w.path, w.message) for w in report.warnings] == [
        (
            "resources[0].port.entity.relations",
            "unknown key 'relations' is ignored by this version: "
            "'relations' belongs under resources[0].port.entity.mappings[]",
        )
    ]


def test_quoted_blueprints_regions_and_parent_models(shared_data: Path) -> None:
    config = load_config(
        {
            "resources": [
                {
                    "kind": "AWS::ElasticLoadBalancingV2::Listener",
                    "selector": {
                        "aws": {
                            "regions": ["eu-west-1"],
                            "regions_config": {"eu-west-1": {"resources_models": ['{"LoadBalancerArn": "arn:lb"}']}},
                            "list_parameters": {"PageSize": 50},
                            "useListProperties": True,
                        }
                    },
                    "port": {"entity": {"mappings": [{"identifier": ".ListenerArn", "blueprint": '"listener"'}]}},
                }
            ],
            "deletionThreshold": 0.5,
        }
    )
    (resource,) = config.resources
    assert resource.port.entity.mappings[0].blueprint_identifier == "listener"
    assert resource.selector.aws.regions == ["eu-west-1"]
    assert resource.selector.aws.regions_config["eu-west-1"].resources_models == ['{"LoadBalancerArn": "arn:lb"}']
    assert resource.selector.aws.list_parameters == {"PageSize": 50}
    assert resource.selector.aws.use_list_properties is True
    assert config.deletion_threshold == 0.5


def _broken() -> dict[str, Any]:
    return {
        "resources": [
            {
                "kind": "AWS::Lambda::Function",
                "selector": {
                    "query": ".Runtime |",
                    "aws": {"regions_config": {"us-east-1": {"resources_models": ["{x"]}}},
                },
                "port": {
                    "entity": {
                        "mappings": [
                            {
                                "identifier": ".FunctionName",
                                "blueprint": "lambda",
                                "properties": {"memory": ".MemorySize +", "timeout": 30},
                                "relations": {"layer": ".Layers[] |"},
                            }
                        ]
                    }
                },
            },
            {"kind": "Lambda", "port": {"entity": {"mappings": [{"blueprint": "x"}]}}},
            {"kind": "AWS::SQS::Queue", "port": {"entity": {"mappings": []}}},
        ],
        "surprise": True,
    }


def test_every_problem_is_reported_at_once_with_path_expression_and_message() -> None:
    report = check_config(_broken())
    assert not report.valid
    found = {problem.path: problem for problem in report.errors}
    assert set(found) == {
        "resources[0].selector.query",
        "resources[0].selector.aws.regions_config.us-east-1.resources_models",
        "resources[0].port.entity.mappings[0].properties.memory",
        "resources[0].port.entity.mappings[0].properties.timeout",
        "resources[0].port.entity.mappings[0].relations.layer",
        "resources[1].kind",
        "resources[1].port.entity.mappings[0].identifier",
        "resources[2].port.entity.mappings",
    }
    memory = found["resources[0].port.entity.mappings[0].properties.memory"]
    assert memory.expression == ".MemorySize +"
    assert "syntax error" in memory.message
    assert found["resources[0].port.entity.mappings[0].properties.timeout"].message.endswith("(got int)")
    assert found["resources[1].kind"].message == "kind must look like AWS::Service::Type, not 'Lambda'"
    assert found["resources[1].port.entity.mappings[0].identifier"].message == "required field 'identifier' is missing"
    assert "is not JSON" in found["resources[0].selector.aws.regions_config.us-east-1.resources_models"].message
    assert [p.path.split("]")[0] for p in report.errors] == sorted(p.path.split("]")[0] for p in report.errors)


def test_config_error_text_lists_every_problem() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(_broken())
    text = str(raised.value)
    assert "8 problem(s)" in text
    assert "resources[0].port.entity.mappings[0].properties.memory" in text
    assert "(expression: .MemorySize +)" in text


def test_unknown_keys_are_warnings_not_errors() -> None:
    document = {
        "resources": [
            {
                "kind": "AWS::SQS::Queue",
                "futureOption": 1,
                "selector": {"aws": {"regions": ["us-east-1"], "accounts": ["1"]}},
                "port": {"entity": {"mappings": [{"identifier": ".QueueName", "blueprint": "sqs", "colour": "red"}]}},
            }
        ],
        "version": 2,
    }
    report = check_config(document)
    assert report.valid and not report.errors
    assert sorted(w.path for w in report.warnings) == [
        "resources[0].futureOption",
        "resources[0].port.entity.mappings[0].colour",
        "resources[0].selector.aws.accounts",
        "version",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON at line 1 column 2"),
        ("[]", "the root must be an object with a 'resources' list, not list"),
    ],
)
def test_unreadable_files_are_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"config\.json") as raised:
        load_config(path)
    assert message in str(raised.value)


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.json")


def test_a_directory_or_a_file_that_is_not_text_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read .*: Is a directory"):
        load_config(tmp_path)
    with pytest.raises(ConfigError, match=r"cannot read \(an empty path\)"):
        load_config("")
    with pytest.raises(ConfigError, match=r"cannot read 'config\\x00\.json': embedded null byte"):
        load_config("config\x00.json")
    binary = tmp_path / "config.json"
    binary.write_bytes(b"\xff\xfe{}")
    with pytest.raises(ConfigError, match=r"cannot read .*config\.json: 'utf-8' codec can't decode"):
        load_config(binary)


def test_entries_for_kind_keeps_config_order() -> None:
    config = load_config(
        {
            "resources": [
                {"kind": k, "port": {"entity": {"mappings": [{"identifier": ".x", "blueprint": b}]}}}
                for k, b in [("AWS::SQS::Queue", "a"), ("AWS::SNS::Topic", "b"), ("AWS::SQS::Queue", "c")]
            ]
        }
    )
    assert config.kinds() == ["AWS::SQS::Queue", "AWS::SNS::Topic"]
    assert [index for index, _ in config.entries_for_kind("AWS::SQS::Queue")] == [0, 2]


def _listing(kind: str, mapping: dict[str, Any], query: str | None = None) -> dict[str, Any]:
    selector: dict[str, Any] = {"aws": {"useListProperties": True}, **({"query": query} if query else {})}
    return {"resources": [{"kind": kind, "selector": selector, "port": {"entity": {"mappings": [mapping]}}}]}


def test_use_list_properties_warns_about_properties_the_list_does_not_return() -> None:
    """On AWS, ListResources answers only the primary identifier for S3 buckets ({"BucketName"})."""
    mapping = {
        "identifier": ".BucketName",
        "title": ".BucketName",
        "blueprint": "bucket",
        "properties": {"arn": ".Arn", "tags": ".Tags // [] | map(.Key)", "name": ".BucketName"},
    }
    report = check_config(_listing("AWS::S3::Bucket", mapping, query='.BucketName | startswith("app-")'))
    assert report.valid
    warned = {warning.path: warning for warning in report.warnings}
    assert set(warned) == {
        "resources[0].port.entity.mappings[0].properties.arn",
        "resources[0].port.entity.mappings[0].properties.tags",
    }
    assert "reads Arn, which ListResources does not return for AWS::S3::Bucket (only BucketName)" in str(
        warned["resources[0].port.entity.mappings[0].properties.arn"]
    )
    assert warned["resources[0].port.entity.mappings[0].properties.tags"].expression == ".Tags // [] | map(.Key)"


def test_use_list_properties_without_warnings_when_only_the_identifier_is_read() -> None:
    mapping = {"identifier": ".QueueUrl", "blueprint": "queue", "properties": {"url": ".QueueUrl"}}
    assert check_config(_listing("AWS::SQS::Queue", mapping)).warnings == []
    without = _listing("AWS::SQS::Queue", {**mapping, "properties": {"arn": ".Arn"}})
    without["resources"][0]["selector"]["aws"]["useListProperties"] = False
    assert check_config(without).warnings == []


def test_use_list_properties_on_a_kind_not_listed_through_cloud_control_is_ignored_with_a_warning() -> None:
    mapping = {"identifier": ".InstanceId", "blueprint": "ec2"}
    (warning,) = check_config(_listing("AWS::EC2::Instance", mapping)).warnings
    assert warning.path == "resources[0].selector.aws.useListProperties"
    assert "ignored" in warning.message
