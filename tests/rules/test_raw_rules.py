"""`rules generate --raw`: one rule per region for every configured kind, whole events, and the
organisation's layouts (member accounts forward to the central bus); `rules lint` and `rules test`
on them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from port_aws_exporter.cli import main
from port_aws_exporter.core.config import load_config
from port_aws_exporter.core.jq.worker import TimeLimitedJq
from port_aws_exporter.core.kinds.registry import KINDS
from port_aws_exporter.eventbridge.pattern import compile_pattern
from port_aws_exporter.rules.generate import generate_raw_rules
from port_aws_exporter.rules.lint import lint_template
from port_aws_exporter.rules.samples import native_sample_case, sample_case, sample_event
from port_aws_exporter.rules.template import load_rule_template
from tests.cli_runner import generate_raw_rules_template

EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "config.json"
CENTRAL = "111111111111"


def test_one_rule_admits_every_write_event_of_every_configured_kind_and_no_failed_call() -> None:
    config = load_config(EXAMPLE_CONFIG)
    [rule], unknown = generate_raw_rules(config)
    assert unknown == [] and rule.kinds == tuple(config.kinds())
    pattern = compile_pattern(rule.event_pattern)
    assert not pattern.warnings
    for kind in config.kinds():
        facts = KINDS[kind].cloudtrail
        assert facts is not None
        for name in facts.event_names:
            assert pattern.match(sample_case(kind, name).event).matched, (kind, name)
            assert not pattern.match(sample_case(kind, name, error_code="AccessDenied").event).matched
        if facts.native_event is not None:
            assert pattern.match(native_sample_case(kind, deleted=True).event).matched


def test_kinds_beyond_one_pattern_go_to_several_rules_each_within_putrules_limit() -> None:
    rules, unknown = generate_raw_rules(list(KINDS))
    assert unknown == ["AWS::Organizations::Account"]
    assert len(rules) > 1 and len({rule.name for rule in rules}) == len(rules)
    assert sorted(kind for rule in rules for kind in rule.kinds) == sorted(k for k in KINDS if KINDS[k].cloudtrail)
    for rule in rules:
        assert len(json.dumps(rule.event_pattern, separators=(",", ":"))) <= 4096


def test_the_layouts_read_back_with_whole_event_targets(tmp_path: Path) -> None:
    imports = {"serverlessrepo-port-aws-exporter-EventsQueueARN": "arn:aws:sqs:us-east-1:123456789012:q"}
    [queue] = load_rule_template(generate_raw_rules_template(tmp_path, "queue"), imports=imports)
    assert [(t.id, t.arn, t.input_transformer) for t in queue.targets] == [
        ("PortAWSExporterEventsQueue", "arn:aws:sqs:us-east-1:123456789012:q", None)
    ]
    [member] = load_rule_template(
        generate_raw_rules_template(tmp_path, "member"),
        {"CentralAccountId": CENTRAL},
        region="eu-west-1",
        account_id="222222222222",
    )
    [target] = member.targets
    assert target.arn == f"arn:aws:events:eu-west-1:{CENTRAL}:event-bus/default"
    assert target.input_transformer is None

    central = _template(generate_raw_rules_template(tmp_path, "central"))
    policies = {name: r for name, r in central["Resources"].items() if r["Type"] == "AWS::Events::EventBusPolicy"}
    organization = policies["OrganizationEventsPolicy"]["Properties"]["Statement"]
    assert organization["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}}
    accounts = policies["MemberAccountsEventsPolicy"]["Properties"]["Statement"]
    assert accounts["Principal"] == {"AWS": {"Ref": "MemberAccountIds"}}
    assert {p["Condition"] for p in policies.values()} == {"AdmitOrganization", "AdmitAccounts"}
    member_template = _template(tmp_path / "raw-member.yaml")
    role = member_template["Resources"]["ForwardRole"]["Properties"]
    [statement] = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert "AWS::AccountId" not in json.dumps(member_template["Parameters"])  # StackSet-ready: nothing per account


def _template(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


@pytest.mark.parametrize("layout", ["queue", "central", "member"])
def test_lint_checks_every_write_event_through_the_raw_resolution(
    tmp_path: Path, jq_evaluator: TimeLimitedJq, layout: str
) -> None:
    report = lint_template(
        generate_raw_rules_template(tmp_path, layout),
        evaluator=jq_evaluator,
        parameters={"CentralAccountId": CENTRAL} if layout == "member" else None,
        config=load_config(EXAMPLE_CONFIG),
    )
    assert [finding.as_dict() for finding in report.findings] == []
    assert report.events >= 120


def test_lint_reports_a_raw_rule_that_misses_events(tmp_path: Path, jq_evaluator: TimeLimitedJq) -> None:
    path = generate_raw_rules_template(tmp_path, "queue")
    lines = path.read_text().splitlines(keepends=True)
    kept = [line for line in lines if line.strip() != "- DeleteQueue"]
    assert len(kept) == len(lines) - 1
    path.write_text("".join(kept))

    report = lint_template(path, evaluator=jq_evaluator, config=load_config(EXAMPLE_CONFIG))

    assert [(f.code, f.event_name) for f in report.findings] == [("missed-event", "DeleteQueue")]


def test_rules_test_shows_what_a_member_accounts_event_resolves_to(tmp_path: Path) -> None:
    event = sample_event(
        "AWS::SQS::Queue", "DeleteQueue", identifier_values={"QueueName": "jobs"}, account_id="222222222222"
    )
    template = str(generate_raw_rules_template(tmp_path, "member"))
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(event))
    arguments = ["rules", "test", template, str(event_path), "--param", f"CentralAccountId={CENTRAL}"]
    result = CliRunner().invoke(
        main,
        [*arguments, "--config", str(EXAMPLE_CONFIG), "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    [outcome] = json.loads(result.stdout)
    keys = ("matched", "raw", "kind", "account", "action", "identifier", "handled_by")
    assert {key: outcome[key] for key in keys} == {
        "matched": True,
        "raw": True,
        "kind": "AWS::SQS::Queue",
        "account": "222222222222",
        "action": "delete",
        "identifier": "jobs",
        "handled_by": [0],
    }
    assert outcome["message"] == event
