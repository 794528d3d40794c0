"""`make_change`: change one resource through its service API, then put the events AWS would emit.

moto emits no CloudTrail events. A real account's CloudTrail records every state-changing call and
EventBridge receives it as an "AWS API Call via CloudTrail" event; EC2 adds its native state-change
notifications. `make_change` puts those events on the local default bus (of us-east-1 for global
services), built by `rules.cloudtrail.cloudtrail_event` from the calls' real request parameters and
response elements, so deployed rules see what they would see on AWS. A failed call is recorded and
put too (with `errorCode`), then reported as a `ChangeError`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from port_aws_exporter.eventbridge.cloudtrail import cloudtrail_event
from port_aws_exporter.local.aws.changes import app_kinds, ec2_instances, platform_kinds  # noqa: F401 (register kinds)
from port_aws_exporter.local.aws.changes.context import ChangeContext, ChangeError
from port_aws_exporter.local.aws.changes.kind_changes import ACTIONS, KIND_CHANGES, Action, ResourceChanges
from port_aws_exporter.local.aws.changes.recorded_call import RecordedCall
from port_aws_exporter.local.aws.service_clients import local_client

__all__ = ["ChangeResult", "make_change", "resolve_kind", "supported_kinds"]

_MAX_ENTRIES_PER_PUT = 10  # PutEvents' limit


@dataclass(frozen=True)
class ChangeResult:
    """A change made on the local endpoint: the resource, the calls made, and the events put.

    `identifier` is the resource's Cloud Control identifier. `events` are the events as put (their
    `id` is the one EventBridge gave them), CloudTrail's first and EC2's native ones after.
    """

    kind: str
    action: Action
    name: str
    region: str
    account_id: str
    identifier: str
    calls: tuple[RecordedCall, ...]
    events: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (what `local change --json` prints)."""
        return asdict(self)


def supported_kinds() -> dict[str, tuple[str, ...]]:
    """The kinds `make_change` can change, with their short aliases."""
    return {kind: changes.aliases for kind, changes in sorted(KIND_CHANGES.items())}


def resolve_kind(text: str) -> str:
    """The kind named by `text`: a kind (`AWS::SQS::Queue`, any case) or an alias (`sqs`)."""
    wanted = text.strip().lower()
    for kind, changes in KIND_CHANGES.items():
        if wanted == kind.lower() or wanted in changes.aliases:
            return kind
    known = ", ".join(f"{kind} ({'/'.join(aliases)})" for kind, aliases in supported_kinds().items())
    raise ChangeError(f"local change does not know the kind {text!r}; it knows {known}")


def make_change(
    endpoint_url: str,
    kind: str,
    action: str,
    name: str,
    *,
    region: str = "us-east-1",
    account_id: str | None = None,
) -> ChangeResult:
    """Make `action` (create, update, tag, delete) on the resource `name` of `kind` in `region`
    through the service API of the local endpoint, and put the events AWS would emit for it on the
    default bus of the account (`account_id`: a member account; None: the endpoint's own).

    Raises ChangeError (its `result` holds the calls and events put before the failure, if any).

    Example::

        result = make_change(aws.url, "AWS::Lambda::Function", "create", "orders-api", region="eu-west-1")
        result.identifier, [event["detail"]["eventName"] for event in result.events]
    """
    changes = KIND_CHANGES[resolve_kind(kind)]
    if action not in ACTIONS:
        raise ChangeError(f"unknown action {action!r}: use one of {', '.join(ACTIONS)}")
    home = _account_id(endpoint_url)
    member = account_id if account_id not in (None, home) else None
    ctx = ChangeContext(endpoint_url=endpoint_url, region=region, account_id=member or home, member_account=member)
    try:
        identifier = changes.run(ctx, action, name)
    except ChangeError as error:
        if ctx.calls:
            error.result = _result(ctx, changes, action, name, "", _put_events(ctx))
        raise
    return _result(ctx, changes, action, name, identifier, _put_events(ctx))


def _result(
    ctx: ChangeContext, changes: ResourceChanges, action: str, name: str, identifier: str, events: list[dict[str, Any]]
) -> ChangeResult:
    return ChangeResult(
        kind=changes.kind,
        action=action,  # type: ignore[arg-type]
        name=name,
        region=ctx.region,
        account_id=ctx.account_id,
        identifier=identifier,
        calls=tuple(ctx.calls),
        events=tuple(events),
    )


@lru_cache(maxsize=8)
def _account_id(endpoint_url: str) -> str:
    return str(local_client(endpoint_url, "sts", "us-east-1").get_caller_identity()["Account"])


def _put_events(ctx: ChangeContext) -> list[dict[str, Any]]:
    """Build the events of the recorded calls (and the native ones) and put them, each in its region."""
    events = [_cloudtrail_event(ctx, call) for call in ctx.calls] + list(ctx.native_events)
    by_region: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_region.setdefault(event["region"], []).append(event)
    for region, regional in by_region.items():
        client = local_client(ctx.endpoint_url, "events", region, ctx.member_account)
        for start in range(0, len(regional), _MAX_ENTRIES_PER_PUT):
            _put(client, regional[start : start + _MAX_ENTRIES_PER_PUT])
    return events


def _cloudtrail_event(ctx: ChangeContext, call: RecordedCall) -> dict[str, Any]:
    return cloudtrail_event(
        call.event_source,
        call.event_name,
        region=call.region,
        account_id=ctx.account_id,
        request_parameters=call.request_parameters,
        response_elements=call.response_elements,
        error_code=call.error_code,
        error_message=call.error_message,
        event_time=ctx.stamp,
    )


def _put(client: Any, events: list[dict[str, Any]]) -> None:
    entries = [
        {
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": json.dumps(event["detail"]),
            "Resources": list(event["resources"]),
            "Time": datetime.fromisoformat(event["time"].replace("Z", "+00:00")),
        }
        for event in events
    ]
    answer = client.put_events(Entries=entries)
    for event, entry in zip(events, answer.get("Entries", []), strict=False):
        if "EventId" not in entry:
            raise ChangeError(f"PutEvents refused the {event['detail-type']} event: {entry.get('ErrorMessage')}")
        event["id"] = entry["EventId"]
