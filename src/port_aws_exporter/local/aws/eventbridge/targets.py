"""Handing what a rule rendered to its target, inside moto: SQS, SNS, CloudWatch Logs, another
event bus, and moto's own archive target.

The body is delivered as the exact text the rule rendered (AWS does not re-encode it), so a test
sees the message byte for byte as a real queue would. A target the local endpoint cannot invoke
(Lambda, Step Functions, ...) or that does not exist fails the invocation with a `TargetError`
instead of failing the whole PutEvents call, as on AWS.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ArnParts", "TargetError", "parse_arn", "send_to_target"]


class TargetError(Exception):
    """The target did not get the event; the message says why."""


@dataclass(frozen=True)
class ArnParts:
    """`arn:partition:service:region:account:resource`, the resource split at its first `/` or `:`."""

    service: str
    region: str
    account: str
    resource_type: str
    resource_id: str


def parse_arn(arn: str) -> ArnParts:
    """Split an ARN; raise TargetError when it is not one."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise TargetError(f"target ARN {arn!r} is not an ARN")
    _, _, service, region, account, resource = parts
    separator = min((resource.find(sep) for sep in "/:" if sep in resource), default=-1)
    if separator < 0:
        return ArnParts(service, region, account, "", resource)
    return ArnParts(service, region, account, resource[:separator], resource[separator + 1 :])


def send_to_target(target: Mapping[str, Any], body: str, event: Mapping[str, Any], moto_rule: Any) -> None:
    """Deliver `body` (what the target's input rendered to) for `event` to `target`; raise TargetError."""
    arn = parse_arn(str(target.get("Arn", "")))
    try:
        if arn.service == "sqs":
            _to_queue(arn, body, target)
        elif arn.service == "sns":
            _to_topic(arn, str(target["Arn"]), body)
        elif arn.service == "logs" and arn.resource_type == "log-group":
            _to_log_group(arn, body)
        elif arn.service == "events" and arn.resource_type == "event-bus":
            _to_event_bus(arn, event)
        elif arn.service == "events" and not arn.resource_type and not arn.resource_id:
            _to_archive(moto_rule, body)
        else:
            raise TargetError(f"the local endpoint does not invoke {arn.service} targets ({target.get('Arn')})")
    except TargetError:
        raise
    except Exception as error:  # moto's own errors: a missing queue, topic, log group, bus...
        raise TargetError(f"{type(error).__name__}: {_message(error)}") from error


def _message(error: Exception) -> str:
    return str(getattr(error, "message", None) or getattr(error, "description", None) or error)


def _to_queue(arn: ArnParts, body: str, target: Mapping[str, Any]) -> None:
    from moto.sqs.models import sqs_backends

    # A FIFO queue without content-based deduplication refuses the message, as it does on AWS.
    group_id = (target.get("SqsParameters") or {}).get("MessageGroupId")
    sqs_backends[arn.account][arn.region].send_message(queue_name=arn.resource_id, message_body=body, group_id=group_id)


def _to_topic(arn: ArnParts, topic_arn: str, body: str) -> None:
    from moto.sns.models import sns_backends

    sns_backends[arn.account][arn.region].publish(message=body, arn=topic_arn)


def _to_log_group(arn: ArnParts, body: str) -> None:
    from moto.logs.models import logs_backends

    group = arn.resource_id.removesuffix(":*")
    backend = logs_backends[arn.account][arn.region]
    stream = str(uuid.uuid4())
    backend.create_log_stream(group, stream)
    backend.put_log_events(group, stream, [{"timestamp": int(time.time() * 1000), "message": body}])


def _to_event_bus(arn: ArnParts, event: Mapping[str, Any]) -> None:
    """Forward the event itself (a bus target takes no input transformation) to the other bus, as
    AWS does: the event keeps its id, time, account and region, so the receiving account's rules
    (and the exporter behind them) see which account it happened in. Another account's bus takes
    it only when its resource policy admits the sender's account or organisation."""
    from moto.core.utils import unix_time
    from moto.events.models import events_backends

    backend = events_backends[arn.account][arn.region]
    bus = backend.describe_event_bus(arn.resource_id)
    sender = str(event.get("account", ""))
    if sender != arn.account and not _admits(bus.policy, sender):
        raise TargetError(
            f"the event bus {arn.resource_id} of account {arn.account} does not admit events of account {sender} "
            "(its resource policy has no events:PutEvents statement for it)"
        )
    forwarded = {key: copy.deepcopy(value) for key, value in event.items()}
    forwarded["ingestion-time"] = unix_time()
    for rule in list(bus.rules.values()):
        rule.send_to_targets(forwarded)  # type: ignore[arg-type]  # moto types its event message as a TypedDict


def _admits(policy: str | None, account_id: str) -> bool:
    """Whether a bus policy lets `account_id` put events: a statement naming the account (or its
    root), `*`, or `*` limited to the sender's organisation (`aws:PrincipalOrgID`); other conditions
    are not evaluated (they admit nothing here)."""
    if not policy:
        return False
    for statement in json.loads(policy).get("Statement", []):
        actions = statement.get("Action")
        if statement.get("Effect") != "Allow" or "events:PutEvents" not in (
            actions if isinstance(actions, list) else [actions]
        ):
            continue
        principal = statement.get("Principal")
        named = principal.get("AWS") if isinstance(principal, dict) else principal
        names = named if isinstance(named, list) else [named]
        if any(str(name) in (account_id, f"arn:aws:iam::{account_id}:root") for name in names):
            return True
        org = _organization_condition(statement.get("Condition") or {})
        # PutPermission's Principal "*" is kept as `arn:aws:iam::*:root`, as AWS shows it.
        anyone = "*" in names or "arn:aws:iam::*:root" in names
        if anyone and not statement.get("Condition"):
            return True
        if anyone and org is not None and _organization_of(account_id) == org:
            return True
    return False


def _organization_condition(condition: Mapping[str, Any]) -> str | None:
    """The organisation id a statement's condition requires: IAM's form, or PutPermission's
    `{"Type", "Key", "Value"}` that moto keeps as given."""
    if condition.get("Key") == "aws:PrincipalOrgID" and condition.get("Type") == "StringEquals":
        return str(condition.get("Value"))
    value = (condition.get("StringEquals") or {}).get("aws:PrincipalOrgID")
    return None if value is None else str(value)


def _organization_of(account_id: str) -> str | None:
    """The id of the local organisation `account_id` belongs to (moto's Organizations), or None."""
    from moto.organizations.models import organizations_backends

    for backend in list(organizations_backends.values()):
        for partition_backend in list(backend.values()):
            organization = getattr(partition_backend, "org", None)
            if organization is None:
                continue
            accounts = {account.id for account in getattr(partition_backend, "accounts", [])}
            if account_id in accounts or account_id == organization.master_account_id:
                return str(organization.id)
    return None


def _to_archive(moto_rule: Any, body: str) -> None:
    """moto's archives are a rule whose target renders `{"archive-arn": ..., "event": ...}`."""
    rendered = json.loads(body)
    archive = parse_arn(str(rendered["archive-arn"]))
    moto_rule._send_to_events_archive(archive.resource_id, rendered["event"])
