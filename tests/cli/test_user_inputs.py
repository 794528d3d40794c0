"""Inputs users already have: a sample event from `rules sample-event`, Cloud Control's own output
for `map`, a config on stdin, a key in the wrong place, and `local seed` run twice.

Real commands: click's CliRunner for the quick ones, child processes against the local AWS endpoint
for `local seed`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from port_aws_exporter.cli import main
from port_aws_exporter.local.aws import RunningLocalAws
from tests.cli_runner import cli_env, run_cli

PROJECT = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = PROJECT / "examples" / "config.json"
EXAMPLE_RULES = PROJECT / "examples" / "rules.yaml"
QUEUE_CONFIG = {
    "resources": [
        {
            "kind": "AWS::SQS::Queue",
            "port": {"entity": {"mappings": [{"identifier": ".QueueName", "blueprint": "queue", "properties": {}}]}},
        }
    ]
}


def test_sample_event_is_what_rules_test_and_the_example_rule_read(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["rules", "sample-event", "AWS::Lambda::Function", "CreateFunction", "--set", "FunctionName=orders-api"],
    )
    assert result.exit_code == 0, result.output
    event = json.loads(result.stdout)
    assert event["detail-type"] == "AWS API Call via CloudTrail" and event["source"] == "aws.lambda"
    assert event["detail"]["eventName"] == "CreateFunction20150331"  # the name CloudTrail records
    assert event["detail"]["requestParameters"]["functionName"] == "orders-api"
    assert "the exporter makes upsert of orders-api" in result.stderr
    path = tmp_path / "event.json"
    path.write_text(result.stdout)
    tested = CliRunner().invoke(
        main, ["rules", "test", str(EXAMPLE_RULES), str(path), "--config", str(EXAMPLE_CONFIG), "--json"]
    )
    assert tested.exit_code == 0, tested.output
    [matched] = [outcome for outcome in json.loads(tested.stdout) if outcome["matched"]]
    assert (matched["action"], matched["identifier"], matched["region"]) == ("upsert", "orders-api", "eu-west-1")


def test_sample_event_of_a_failed_delete_and_of_unknown_names() -> None:
    failed = CliRunner().invoke(
        main, ["rules", "sample-event", "AWS::SQS::Queue", "DeleteQueue", "--error-code", "AccessDenied"]
    )
    assert failed.exit_code == 0, failed.output
    assert json.loads(failed.stdout)["detail"]["errorCode"] == "AccessDenied"
    unknown_kind = CliRunner().invoke(main, ["rules", "sample-event", "AWS::Nope::Thing", "CreateThing"])
    assert unknown_kind.exit_code == 1 and "knows no CloudTrail events of AWS::Nope::Thing" in unknown_kind.stderr
    assert "AWS::SQS::Queue" in unknown_kind.stderr
    unknown_event = CliRunner().invoke(main, ["rules", "sample-event", "AWS::SQS::Queue", "PurgeQueue"])
    assert unknown_event.exit_code == 1 and "CreateQueue, SetQueueAttributes" in unknown_event.stderr
    bad_set = CliRunner().invoke(main, ["rules", "sample-event", "AWS::SQS::Queue", "CreateQueue", "--set", "x"])
    assert bad_set.exit_code == 1 and "--set 'x' is not NAME=VALUE" in bad_set.stderr


def _cloud_control_output(aws_client: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """What `aws cloudcontrol get-resource` and `list-resources` print (boto3's answers without
    their ResponseMetadata: the same JSON)."""
    sqs = aws_client("sqs")
    for name in ("inputs-a", "inputs-b"):
        sqs.create_queue(QueueName=name)
    cloudcontrol = aws_client("cloudcontrol")
    url = sqs.get_queue_url(QueueName="inputs-a")["QueueUrl"]
    got = cloudcontrol.get_resource(TypeName="AWS::SQS::Queue", Identifier=url)
    listed = cloudcontrol.list_resources(TypeName="AWS::SQS::Queue")
    for answer in (got, listed):
        answer.pop("ResponseMetadata")
    return got, listed


def test_map_takes_cloud_control_get_and_list_output_as_it_is(
    fresh_local_aws: RunningLocalAws, aws_client: Any, tmp_path: Path
) -> None:
    got, listed = _cloud_control_output(aws_client)
    assert isinstance(got["ResourceDescription"]["Properties"], str)  # JSON text, as AWS answers
    config = tmp_path / "config.json"
    mapping = {"identifier": ".QueueName", "blueprint": "queue", "properties": {"url": ".QueueUrl"}}
    config.write_text(
        json.dumps({"resources": [{"kind": "AWS::SQS::Queue", "port": {"entity": {"mappings": [mapping]}}}]})
    )
    one = CliRunner().invoke(main, ["map", "--config", str(config), "-"], input=json.dumps(got))
    assert one.exit_code == 0, one.output
    [entity] = json.loads(one.stdout)
    assert entity["identifier"] == "inputs-a" and entity["properties"]["url"].endswith("/inputs-a")

    # On AWS a listed queue carries only its QueueUrl; the local endpoint lists as AWS does, so the
    # name maps to null (an error naming the identifier) and the note says to read the resource.
    many = CliRunner().invoke(main, ["map", "--config", str(config), "-"], input=json.dumps(listed))
    assert "list-resources gives each resource's primary identifier only" in many.stderr
    by_url = tmp_path / "by-url.json"
    by_url.write_text(json.dumps({"resources": [{"kind": "AWS::SQS::Queue", "port": {"entity": {"mappings": [
        {"identifier": ".QueueUrl | split(\"/\") | last", "blueprint": "queue", "properties": {}}
    ]}}}]}))  # fmt: skip
    listed_entities = CliRunner().invoke(main, ["map", "--config", str(by_url), "-"], input=json.dumps(listed))
    assert listed_entities.exit_code == 0, listed_entities.output
    assert sorted(entity["identifier"] for entity in json.loads(listed_entities.stdout)) == ["inputs-a", "inputs-b"]


def test_map_refuses_a_kind_that_is_not_the_outputs_type_name(tmp_path: Path) -> None:
    output = {"TypeName": "AWS::SQS::Queue", "ResourceDescription": {"Identifier": "q", "Properties": "{not json"}}
    config = tmp_path / "config.json"
    config.write_text(json.dumps(QUEUE_CONFIG))
    other = CliRunner().invoke(
        main, ["map", "--config", str(config), "--kind", "AWS::SNS::Topic", "-"], input=json.dumps(output)
    )
    assert other.exit_code == 1 and "differs from the TypeName AWS::SQS::Queue" in other.stderr
    broken = CliRunner().invoke(main, ["map", "--config", str(config), "-"], input=json.dumps(output))
    assert broken.exit_code == 1 and "resource [0]: its Properties are not JSON" in broken.stderr
    assert json.loads(broken.stdout) == []


def test_config_validate_reads_stdin() -> None:
    valid = CliRunner().invoke(main, ["config", "validate", "-"], input=EXAMPLE_CONFIG.read_text())
    assert valid.exit_code == 0, valid.output
    assert valid.stdout.startswith("standard input is valid: 14 resource(s)")
    as_json = CliRunner().invoke(main, ["config", "validate", "--json", "-"], input='{"resources": [{"kind": 1}]}')
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["valid"] is False
    garbage = CliRunner().invoke(main, ["config", "validate", "-"], input=b"\xff\xfe not text")
    assert garbage.exit_code == 1 and "cannot read standard input: not UTF-8 text" in garbage.stderr
    truncated = CliRunner().invoke(main, ["config", "validate", "-"], input='{"resources": [')
    assert truncated.exit_code == 1 and "not valid JSON at line 1" in truncated.stderr


def test_a_misplaced_keys_warning_says_where_it_belongs() -> None:
    entry = {
        "kind": "AWS::SQS::Queue",
        "regions": ["eu-west-1"],
        "selector": {"useListProperty": True},
        "port": {
            "entity": {
                "mappings": [{"identifier": ".QueueName", "blueprint": "queue", "selector": {"query": "true"}}],
                "relations": {},
            }
        },
    }
    document = {"resources": [dict(QUEUE_CONFIG["resources"][0]), entry], "roleName": "Reader"}
    result = CliRunner().invoke(main, ["config", "validate", "--json", "-"], input=json.dumps(document))
    assert result.exit_code == 0, result.output
    warnings = {warning["path"]: warning["message"] for warning in json.loads(result.stdout)["warnings"]}
    assert warnings == {
        "roleName": "unknown key 'roleName' is ignored by this version: 'roleName' belongs under accounts",
        "resources[1].regions": "unknown key 'regions' is ignored by this version: "
        "'regions' belongs under resources[1].selector.aws",
        "resources[1].selector.useListProperty": "unknown key 'useListProperty' is ignored by this version: "
        "did you mean 'useListProperties' (under resources[1].selector.aws)?",
        "resources[1].port.entity.mappings[0].selector": "unknown key 'selector' is ignored by this version: "
        "'selector' belongs under resources[1]",
        "resources[1].port.entity.relations": "unknown key 'relations' is ignored by this version: "
        "'relations' belongs under resources[1].port.entity.mappings[]",
    }


def test_local_seed_twice_creates_nothing_new(
    fresh_local_aws: RunningLocalAws, aws_env: dict[str, str], aws_client: Any, tmp_path: Path
) -> None:
    env = cli_env(aws_env)
    arguments = ["local", "seed", "--regions", "us-east-1", "--resources", "35", "--json"]
    first = run_cli(arguments, env, tmp_path)
    assert first.returncode == 0, first.stderr
    functions = aws_client("lambda").list_functions()["Functions"]
    second = run_cli(arguments, env, tmp_path)
    assert second.returncode == 0 and "rror" not in second.stderr, second.stderr
    before, after = json.loads(first.stdout), json.loads(second.stdout)
    assert (before["already_seeded"], after["already_seeded"]) == ([], ["us-east-1"])
    assert after["resources"] == before["resources"] and after["total"] == before["total"]
    assert aws_client("lambda").list_functions()["Functions"] == functions
    table = run_cli(arguments[:-1], env, tmp_path)
    assert table.returncode == 0, table.stderr
    assert "Already seeded before in us-east-1: nothing new was created there." in table.stdout

    organization = ["local", "seed", "--accounts", "1", "--regions", "us-east-1", "--json"]
    made = run_cli(organization, env, tmp_path)
    again = run_cli(organization, env, tmp_path)
    assert made.returncode == 0 and again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["members"] == json.loads(made.stdout)["members"]
    assert len(aws_client("organizations").list_accounts()["Accounts"]) == 2
