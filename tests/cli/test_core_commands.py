"""`config validate`, `map`, `kinds` and `--version`, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from port_aws_exporter import __version__
from port_aws_exporter.cli import main


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "port_aws_exporter", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_version_through_the_real_entry_point() -> None:
    result = _run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"port-aws-exporter, version {__version__}"


def test_validate_a_valid_example_prints_a_one_line_summary(shared_data: Path) -> None:
    result = _run("config", "validate", str(shared_data / "port-examples" / "sns-sqs.mapping.json"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("is valid: 2 resource(s) of 2 kind(s), 2 mapping(s)")
    assert len(result.stdout.strip().splitlines()) == 1


def test_validate_reports_every_error_and_exits_1(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "resources": [
                    {
                        "kind": "AWS::Lambda::Function",
                        "port": {
                            "entity": {
                                "mappings": [
                                    {
                                        "identifier": ".FunctionName |",
                                        "blueprint": "lambda",
                                        "properties": {"memory": ".MemorySize +"},
                                    }
                                ]
                            }
                        },
                    }
                ]
            }
        )
    )
    result = CliRunner().invoke(main, ["config", "validate", str(config)])
    assert result.exit_code == 1
    assert "resources[0].port.entity.mappings[0].identifier" in result.output
    assert "resources[0].port.entity.mappings[0].properties.memory" in result.output
    assert "expression: .MemorySize +" in result.output

    as_json = CliRunner().invoke(main, ["config", "validate", "--json", str(config)])
    assert as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    assert report["valid"] is False
    assert [e["path"] for e in report["errors"]] == [
        "resources[0].port.entity.mappings[0].identifier",
        "resources[0].port.entity.mappings[0].properties.memory",
    ]
    assert report["errors"][1]["expression"] == ".MemorySize +"
    assert "syntax error" in report["errors"][1]["message"]


def test_validate_json_of_a_valid_config(shared_data: Path) -> None:
    result = CliRunner().invoke(
        main, ["config", "validate", "--json", str(shared_data / "port-examples" / "s3.mapping.json")]
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"valid": True, "errors": [], "warnings": []}


def test_map_prints_entities_with_their_blueprint(shared_data: Path, tmp_path: Path) -> None:
    resources = tmp_path / "topics.json"
    resources.write_text(
        json.dumps(
            [
                {
                    "TopicName": "t1",
                    "TopicArn": "arn:aws:sns:us-east-1:1:t1",
                    "Subscription": [{"Protocol": "sqs", "Endpoint": "arn:aws:sqs:us-east-1:1:q1"}],
                },
                {"TopicName": "t2", "TopicArn": "arn:aws:sns:us-east-1:1:t2"},
            ]
        )
    )
    config = str(shared_data / "port-examples" / "sns-sqs.mapping.json")
    result = CliRunner().invoke(main, ["map", "--config", config, "--kind", "AWS::SNS::Topic", str(resources)])
    assert result.exit_code == 0, result.output
    entities = json.loads(result.stdout)
    assert [(e["blueprint"], e["identifier"], e["relations"]) for e in entities] == [
        ("sns", "t1", {"sqs": ["q1"]}),
        ("sns", "t2", {"sqs": []}),
    ]

    ambiguous = CliRunner().invoke(main, ["map", "--config", config, str(resources)])
    assert ambiguous.exit_code == 1
    assert "several kinds (AWS::SQS::Queue, AWS::SNS::Topic)" in ambiguous.output


def test_map_reports_failures_on_stderr_and_exits_1(shared_data: Path, tmp_path: Path) -> None:
    resources = tmp_path / "functions.json"
    resources.write_text(json.dumps([{"FunctionName": "ok", "Arn": "a", "Role": "r"}, {"Arn": "no-name"}, 5]))
    result = CliRunner().invoke(
        main, ["map", "--config", str(shared_data / "port-examples" / "lambda.mapping.json"), str(resources)]
    )
    assert result.exit_code == 1
    assert [e["identifier"] for e in json.loads(result.stdout)] == ["ok"]
    assert "resource [1]: resources[0].port.entity.mappings[0].identifier" in result.stderr
    assert "resource [2] is not a JSON object" in result.stderr


def test_kinds_lists_the_registry() -> None:
    result = CliRunner().invoke(main, ["kinds", "--json"])
    assert result.exit_code == 0
    rows = {row["kind"]: row for row in json.loads(result.stdout)}
    assert rows["AWS::ECS::Service"]["primary_identifier"] == ["ServiceArn", "Cluster"]
    assert rows["AWS::EC2::Instance"]["fetcher"] == "ec2_instance"
    table = CliRunner().invoke(main, ["kinds"])
    assert table.exit_code == 0 and "cloudcontrol" in table.output
