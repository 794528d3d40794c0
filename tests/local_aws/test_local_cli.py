"""`port-aws-exporter local aws` and `local seed`, run as a user would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any

import boto3
import httpx
import pytest
from click.testing import CliRunner

from port_aws_exporter.cli import main
from port_aws_exporter.local.aws import RunningLocalAws


@pytest.mark.parametrize(
    ("stop_signal", "extra_args"),
    [(signal.SIGTERM, []), (signal.SIGINT, ["--seed", "--regions", "eu-west-1"])],
    ids=["sigterm", "sigint-seeded"],
)
def test_local_aws_prints_its_url_first_and_stops_on_a_signal(
    stop_signal: signal.Signals, extra_args: list[str]
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "port_aws_exporter", "local", "aws", "--port", "0", *extra_args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}/_local/health", timeout=10).json() == {"status": "ok"}
        if extra_args:
            # Iterating ends at EOF too: a command that died fails here instead of looping forever.
            assert any("Seeded the demo world" in line for line in process.stderr)
            cc = boto3.client(
                "cloudcontrol",
                endpoint_url=url,
                region_name="eu-west-1",
                aws_access_key_id="a",
                aws_secret_access_key="b",
            )
            listed = cc.list_resources(TypeName="AWS::ECS::Cluster")["ResourceDescriptions"]
            assert [d["Identifier"] for d in listed] == ["demo-cluster-eu-west-1"]
        process.send_signal(stop_signal)
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "stopped" in stderr
    if not extra_args:
        assert f"export AWS_ENDPOINT_URL={url}" in stderr


def test_local_seed_against_a_running_endpoint(fresh_local_aws: RunningLocalAws) -> None:
    result = CliRunner().invoke(
        main, ["local", "seed", "--endpoint-url", fresh_local_aws.url, "--regions", "eu-west-1", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.output)
    assert summary["regions"] == ["eu-west-1"]
    assert summary["counts"]["AWS::Lambda::Function"] == 4
    assert summary["resources"]["AWS::ECS::Cluster"] == {"eu-west-1": ["demo-cluster-eu-west-1"]}


def test_local_seed_finds_the_endpoint_in_the_environment(fresh_local_aws: RunningLocalAws) -> None:
    result = CliRunner().invoke(
        main,
        ["local", "seed", "--regions", "us-east-1", "--resources", "60"],
        env={"AWS_ENDPOINT_URL": fresh_local_aws.url},
    )
    assert result.exit_code == 0, result.output
    assert "AWS::Lambda::Function" in result.output
    assert "total" in result.output
    functions = httpx.get(f"{fresh_local_aws.url}/_local/health")  # still serving after a bulk seed
    assert functions.status_code == 200


def test_local_seed_without_an_endpoint_says_how_to_give_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    result = CliRunner().invoke(main, ["local", "seed"], env=dict(os.environ))
    assert result.exit_code == 2
    assert "--endpoint-url" in result.output
    assert "AWS_ENDPOINT_URL" in result.output


def test_local_seed_reports_a_failed_seed_without_a_traceback(fresh_local_aws: RunningLocalAws) -> None:
    args = ["local", "seed", "--endpoint-url", fresh_local_aws.url, "--regions", "us-east-1"]
    fresh_local_aws.faults.fail("iam:CreateRole", code="AccessDenied", status=403)
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 1
    assert "seeding the demo world failed at IAM roles" in refused.output and "AccessDenied" in refused.output
    assert "Traceback" not in refused.output
