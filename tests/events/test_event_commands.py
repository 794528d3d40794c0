"""`event`, `dlq show` and `dlq replay`, as a user runs them (click's runner, real local stack)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner, Result

from port_aws_exporter.cli import main
from port_aws_exporter.local.aws import RunningLocalAws
from port_aws_exporter.port import PortClient
from port_aws_exporter.rules.samples import sample_event
from tests.events.conftest import MessageFactory, examples
from tests.fixtures.event_queues import EventQueues, LambdaEventSource


def run(*args: str, input_text: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input_text, catch_exceptions=False)


def test_event_applies_one_message_and_prints_what_happened(
    fresh_local_aws: RunningLocalAws,
    events_env: dict[str, str],
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
    shared_data: Path,
    tmp_path: Path,
) -> None:
    port = catalog_with("lambda.blueprint.json")
    [name] = fresh_local_aws.bulk_create_lambda_functions(1, prefix="cli")
    config = str(examples(shared_data) / "lambda.mapping.json")
    message = tmp_path / "message.json"
    message.write_text(seed_message("CreateFunction20150331", name))

    result = run("event", "--config", config, str(message), "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "action": "upsert",
        "region": "us-east-1",
        "identifier": name,
        "written": [{"blueprint": "lambda", "identifier": name}],
        "deleted": [],
        "skipped": None,
        "error": None,
    }
    assert port.get_entity("lambda", name) is not None

    # For people, from stdin: the over-matching delete is refused at once, and says why.
    people = run("event", "--config", config, "-", input_text=seed_message("DeleteFunctionConcurrency20171031", name))
    assert people.exit_code == 0, people.output
    assert people.stdout.splitlines()[0] == f"delete AWS::Lambda::Function {name} in us-east-1"
    assert f"wrote lambda/{name}" in people.stdout
    assert "skipped: not deleted" in people.stdout and "DeleteFunctionConcurrency20171031" in people.stdout
    assert port.get_entity("lambda", name) is not None


def test_event_exits_1_on_a_bad_message_and_on_a_bad_config(
    events_env: dict[str, str], shared_data: Path, tmp_path: Path
) -> None:
    config = str(examples(shared_data) / "lambda.mapping.json")
    bad = run("event", "--config", config, "-", "--json", input_text='{"resource_type": "AWS::Lambda::Function"}')
    assert bad.exit_code == 1
    assert json.loads(bad.stdout)["error"] == (
        "the message has no 'region': it must be a non-empty jq program (a string)"
    )
    missing = run("event", "--config", str(tmp_path / "none.json"), "-", input_text="{}")
    assert missing.exit_code == 1 and "file not found" in missing.stderr


def test_dlq_show_gives_reasons_and_replay_moves_messages_back_after_a_fix(
    fresh_local_aws: RunningLocalAws,
    events_env: dict[str, str],
    event_queues: Callable[..., EventQueues],
    catalog_with: Callable[..., PortClient],
    seed_message: MessageFactory,
    shared_data: Path,
    events_lambda: Callable[..., dict[str, object]],
) -> None:
    queues = event_queues(visibility_timeout=1, max_receive_count=1)
    [name] = fresh_local_aws.bulk_create_lambda_functions(1, prefix="replayed")
    good = seed_message("CreateFunction20150331", name)
    queues.send("{oops", good)
    # The blueprint is missing: the good message fails too, until it is fixed.
    LambdaEventSource(queues, events_lambda).drain(timeout=20)
    assert queues.depth(queues.dlq_url) == 2

    shown = run(
        "dlq",
        "show",
        "--queue-url",
        queues.dlq_url,
        "--json",
        "--config",
        str(examples(shared_data) / "lambda.mapping.json"),
    )
    assert shown.exit_code == 0, shown.output
    reasons = {letter["body"]: letter["reason"] for letter in json.loads(shown.stdout)}
    assert reasons["{oops"].startswith("bad message: the message is not valid JSON")
    assert reasons[good].startswith(f"the message is valid (upsert AWS::Lambda::Function {name} in us-east-1)")
    assert queues.depth(queues.dlq_url) == 2  # showing leaves them there
    table = run("dlq", "show", "--queue-url", queues.dlq_url)
    assert "2 dead-lettered message(s)" in table.stdout

    port = catalog_with("lambda.blueprint.json")
    replayed = run("dlq", "replay", "--queue-url", queues.dlq_url, "--to", queues.queue_url, "--max", "5")
    assert replayed.exit_code == 0, replayed.output
    assert replayed.stdout.strip() == f"2 message(s) moved to {queues.queue_url}"
    assert queues.depth(queues.dlq_url) == 0
    LambdaEventSource(queues, events_lambda).drain(timeout=20)
    assert port.get_entity("lambda", name) is not None
    assert [message["Body"] for message in queues.peek(queues.dlq_url)] == ["{oops"]


def test_dlq_show_gives_the_consumers_own_reason_for_what_it_refused_for_good(
    fresh_local_aws: RunningLocalAws,
    events_env: dict[str, str],
    event_queues: Callable[..., EventQueues],
    catalog_with: Callable[..., PortClient],
    shared_data: Path,
    events_lambda: Callable[..., dict[str, object]],
) -> None:
    catalog_with("lambda.blueprint.json")
    queues = event_queues(visibility_timeout=1, max_receive_count=1)
    # A rule whose template hard-codes a mistyped region, and a name holding an escaped lone surrogate.
    bad_region = json.dumps({"resource_type": "AWS::Lambda::Function", "region": '"us-east1"', "identifier": '"fn"'})
    surrogate = bad_region.replace('"us-east1"', '"us-east-1"').replace('"fn"', ".name")[:-1] + ', "name": "\\ud800"}'
    queues.send(bad_region, surrogate)
    LambdaEventSource(queues, events_lambda).drain(timeout=20)
    assert queues.depth(queues.dlq_url) == 2

    config = str(examples(shared_data) / "lambda.mapping.json")
    shown = run("dlq", "show", "--queue-url", queues.dlq_url, "--json", "--config", config)
    assert shown.exit_code == 0, shown.output
    reasons = {letter["body"]: letter["reason"] for letter in json.loads(shown.stdout)}
    assert reasons[bad_region] == "bad message: region: 'us-east1' is not an AWS region name"
    assert reasons[surrogate].startswith(
        "bad message: jq cannot read the message: parse error: Invalid \\uXXXX\\uXXXX surrogate pair escape"
    )


def test_dlq_replay_refuses_the_same_queue(events_env: dict[str, str]) -> None:
    result = run("dlq", "replay", "--queue-url", "http://q/1/dlq", "--to", "http://q/1/dlq")
    assert result.exit_code == 1 and "the same queue" in result.stderr


def test_the_event_paths_documents_carry_their_account_and_region(
    fresh_local_aws: RunningLocalAws,
    events_env: dict[str, str],
    port_client: PortClient,
    seed_message: MessageFactory,
    tmp_path: Path,
) -> None:
    blueprint = {
        "identifier": "fn",
        "title": "Function",
        "schema": {"properties": {"account": {"type": "string"}, "region": {"type": "string"}}},
    }
    port_client.apply_blueprint(blueprint)
    mapping = {
        "identifier": ".FunctionName",
        "blueprint": "fn",
        "properties": {"account": ".__AccountId", "region": ".__Region"},
    }
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"resources": [{"kind": "AWS::Lambda::Function", "port": {"entity": {"mappings": [mapping]}}}]})
    )
    [name] = fresh_local_aws.bulk_create_lambda_functions(1, prefix="origin")
    message = tmp_path / "message.json"
    message.write_text(seed_message("CreateFunction20150331", name))

    result = run("event", "--config", str(config), str(message), "--json")

    assert result.exit_code == 0, result.output
    entity = port_client.get_entity("fn", name)
    assert entity is not None
    assert entity["properties"] == {"account": "123456789012", "region": "us-east-1"}


def test_event_applies_a_raw_eventbridge_event_and_ignores_a_failed_call(
    fresh_local_aws: RunningLocalAws,
    events_env: dict[str, str],
    catalog_with: Callable[..., PortClient],
    shared_data: Path,
    tmp_path: Path,
) -> None:
    port = catalog_with("lambda.blueprint.json")
    [name] = fresh_local_aws.bulk_create_lambda_functions(1, prefix="raw")
    config = str(examples(shared_data) / "lambda.mapping.json")
    event = sample_event(
        "AWS::Lambda::Function",
        "UpdateFunctionCode20150331v2",
        identifier_values={"FunctionName": name},
        region="us-east-1",
    )
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))

    result = run("event", "--config", config, str(path), "--json")

    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert (shown["action"], shown["identifier"], shown["written"]) == (
        "upsert",
        name,
        [{"blueprint": "lambda", "identifier": name}],
    )
    assert port.get_entity("lambda", name) is not None

    failed = sample_event(
        "AWS::Lambda::Function",
        "DeleteFunction20150331",
        identifier_values={"FunctionName": name},
        region="us-east-1",
        error_code="ResourceConflictException",
    )
    people = run("event", "--config", config, "-", input_text=json.dumps(failed))
    assert people.exit_code == 0, people.output
    assert "skipped:" in people.stdout and "ResourceConflictException" in people.stdout
    assert port.get_entity("lambda", name) is not None
