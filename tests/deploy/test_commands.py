"""`iam-policy` as a user runs it: the document, the create command, files, errors."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from port_aws_exporter.cli import main
from port_aws_exporter.deploy.iam_policy import DEFAULT_POLICY_NAME

LAMBDA_CONFIG = "docs-aws-exporter.lambda-basic.config.json"


def _split(stdout: str) -> tuple[dict[str, Any], list[str]]:
    """The printed document and the create command's words."""
    document, _, rest = stdout.partition("\n\n")
    comment, command = rest.strip().splitlines()
    assert comment.startswith("# Create the policy; the ARN it prints is the exporter stack's CustomIAMPolicyARN")
    return json.loads(document), shlex.split(command)


def test_prints_the_policy_then_the_create_command(shared_data: Path) -> None:
    # Through the real entry point: stdout holds exactly what a user copies.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "port_aws_exporter",
            "iam-policy",
            "--offline",
            "--config",
            str(shared_data / "port-examples" / LAMBDA_CONFIG),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document, command = _split(result.stdout)
    assert document["Statement"][1]["Action"] == [
        "lambda:GetFunction",
        "lambda:GetFunctionCodeSigningConfig",
        "lambda:GetFunctionRecursionConfig",
        "lambda:GetFunctionScalingConfig",
        "lambda:GetRuntimeManagementConfig",
        "lambda:ListFunctions",
    ]
    assert command[:5] == ["aws", "iam", "create-policy", "--policy-name", DEFAULT_POLICY_NAME]
    assert json.loads(command[command.index("--policy-document") + 1]) == document
    assert "left out kms:Decrypt (listed for AWS::Lambda::Function): access level Write" in result.stderr


def test_json_prints_only_the_document(shared_data: Path) -> None:
    result = CliRunner().invoke(
        main, ["iam-policy", "--json", "--offline", "--config", str(shared_data / "port-examples" / "eks.mapping.json")]
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["Statement"][1]["Action"] == ["eks:DescribeCluster", "eks:ListClusters"]
    assert "AWS::EKS::Cluster: 4 action(s) from the kind registry" in result.stderr


def test_output_writes_the_document_and_the_command_reads_it(shared_data: Path, tmp_path: Path) -> None:
    target = tmp_path / "policy.json"
    result = CliRunner().invoke(
        main,
        [
            "iam-policy",
            "--offline",
            "--policy-name",
            "CatalogReader",
            "--output",
            str(target),
            "--config",
            str(shared_data / "port-examples" / "ecr.mapping.json"),
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert "ecr:DescribeRepositories" in json.loads(target.read_text())["Statement"][1]["Action"]
    command = shlex.split(result.stdout.strip().splitlines()[-1])
    assert command[command.index("--policy-name") + 1] == "CatalogReader"
    assert command[command.index("--policy-document") + 1] == f"file://{target}"


def test_kinds_without_a_config_and_data_reads_on_request() -> None:
    plain = CliRunner().invoke(main, ["iam-policy", "--json", "--kind", "AWS::SecretsManager::Secret"])
    with_data = CliRunner().invoke(
        main, ["iam-policy", "--json", "--include-data-reads", "--kind", "AWS::SecretsManager::Secret"]
    )
    assert plain.exit_code == with_data.exit_code == 0
    assert "secretsmanager:GetSecretValue" not in plain.stdout
    assert "secretsmanager:GetSecretValue" in with_data.stdout
    assert "left out secretsmanager:GetSecretValue" in plain.stderr


def test_unregistered_kinds_through_the_accounts_describe_type(
    type_registry_server: Any, registry_requests: list[dict[str, str]], fake_aws_credentials: None
) -> None:
    result = CliRunner(env={"AWS_ENDPOINT_URL_CLOUDFORMATION": type_registry_server.url}).invoke(
        main, ["iam-policy", "--json", "--kind", "AWS::Glue::Job", "--kind", "AWS::Nope::Thing"]
    )
    assert result.exit_code == 0, result.stderr
    assert "glue:GetJob" in json.loads(result.stdout)["Statement"][1]["Action"]
    assert "AWS::Glue::Job: " in result.stderr and "from the CloudFormation DescribeType" in result.stderr
    assert "UNKNOWN AWS::Nope::Thing: not in the kind registry; AWS::Nope::Thing is not a registered" in result.stderr
    assert [request["TypeName"] for request in registry_requests] == ["AWS::Glue::Job", "AWS::Nope::Thing"]


def test_offline_lists_unregistered_kinds_as_unknown_and_fails_when_nothing_is_left() -> None:
    result = CliRunner().invoke(main, ["iam-policy", "--offline", "--kind", "AWS::Glue::Job"])
    assert result.exit_code == 1
    assert "UNKNOWN AWS::Glue::Job: not in the kind registry; DescribeType not asked" in result.stderr
    assert "no action to allow: every kind is unknown" in result.stderr
    assert result.stdout == ""


def test_a_bad_config_is_named(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text('{"resources": [{"kind": "Lambda", "port": {"entity": {"mappings": []}}}]}')
    result = CliRunner().invoke(main, ["iam-policy", "--config", str(config)])
    assert result.exit_code == 1
    assert "resources[0].kind: kind must look like AWS::Service::Type, not 'Lambda'" in result.stderr
    assert result.stdout == ""


def test_nothing_to_do_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["iam-policy"])
    assert result.exit_code == 2
    assert "give --config FILE or at least one --kind" in result.stderr
