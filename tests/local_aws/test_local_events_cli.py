"""`port-aws-exporter local deploy-rules` and `local change`, run as a user runs them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from port_aws_exporter.cli import main
from port_aws_exporter.local.aws import RunningLocalAws

SEED_TEMPLATE = ("port-examples", "docs-event-based-updates.lambda.rule.yaml")


def _run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, ["local", *args], env=env, catch_exceptions=False)


def test_deploy_rules_then_change_delivers_the_seed_message(
    fresh_local_aws: RunningLocalAws,
    aws_env: dict[str, str],
    shared_data: Path,
    queue_bodies: Callable[..., list[str]],
) -> None:
    template = str(shared_data.joinpath(*SEED_TEMPLATE))
    deployed = _run("deploy-rules", template, "--queue", "events", "--region", "eu-west-1", "--json")
    assert deployed.exit_code == 0, deployed.output
    deployment = json.loads(deployed.output)
    assert deployment["rules"][0]["name"] == "port-aws-exporter-sync-lambda-trails"

    changed = _run("change", "lambda", "create", "cli-fn", "--region", "eu-west-1", "--json")
    assert changed.exit_code == 0, changed.output
    change = json.loads(changed.output)
    assert (change["kind"], change["identifier"], change["region"]) == ("AWS::Lambda::Function", "cli-fn", "eu-west-1")
    assert [event["detail"]["eventName"] for event in change["events"]] == ["CreateRole", "CreateFunction20150331"]

    [body] = queue_bodies(deployment["queue_url"], region="eu-west-1")
    assert json.loads(body)["responseFunctionName"] == "cli-fn"


def test_human_output_names_the_rules_and_the_events(fresh_local_aws: RunningLocalAws, shared_data: Path) -> None:
    template = str(shared_data.joinpath(*SEED_TEMPLATE))
    deployed = _run("deploy-rules", template, "--queue", "events", "--endpoint-url", fresh_local_aws.url)
    assert deployed.exit_code == 0, deployed.output
    assert "port-aws-exporter-sync-lambda-trails" in deployed.output
    assert "feeding queue events" in deployed.output

    changed = _run("change", "AWS::SQS::Queue", "create", "jobs", "--endpoint-url", fresh_local_aws.url)
    assert changed.exit_code == 0, changed.output
    assert "create: AWS::SQS::Queue jobs in us-east-1" in changed.output
    assert "aws.sqs CreateQueue" in changed.output


def test_a_failed_change_exits_non_zero_and_says_the_failed_call_was_recorded(
    fresh_local_aws: RunningLocalAws,
) -> None:
    result = _run("change", "lambda", "delete", "ghost", "--endpoint-url", fresh_local_aws.url)
    assert result.exit_code == 1
    assert "DeleteFunction failed: ResourceNotFoundException" in result.output
    assert "put DeleteFunction20150331 (ResourceNotFoundException)" in result.output


def test_errors_are_clear(fresh_local_aws: RunningLocalAws, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    no_endpoint = _run("change", "sqs", "create", "jobs")
    assert no_endpoint.exit_code == 2 and "no endpoint: pass --endpoint-url" in no_endpoint.output

    unknown = _run("change", "AWS::Nope::Thing", "create", "x", "--endpoint-url", fresh_local_aws.url)
    assert unknown.exit_code == 1 and "does not know the kind 'AWS::Nope::Thing'" in unknown.output

    broken = tmp_path / "broken.yaml"
    broken.write_text("Resources: [", encoding="utf-8")
    bad_template = _run("deploy-rules", str(broken), "--queue", "q", "--endpoint-url", fresh_local_aws.url)
    assert bad_template.exit_code == 1 and "broken.yaml" in bad_template.output

    bad_param = _run("deploy-rules", str(broken), "--queue", "q", "--param", "novalue")
    assert bad_param.exit_code == 2 and "'novalue' is not K=V" in bad_param.output

    unreachable = _run("change", "sqs", "create", "jobs", "--endpoint-url", "http://127.0.0.1:9")
    assert unreachable.exit_code == 1 and "cannot reach the local endpoint at http://127.0.0.1:9" in unreachable.output
