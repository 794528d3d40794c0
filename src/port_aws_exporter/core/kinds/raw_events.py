"""Raw EventBridge events resolved through the kind registry: the one place that reads them.

A rule without an InputTransformer delivers the whole event to the queue. This module turns such an
event into the request a seed message becomes (kind, account, region, action, identifier), reading
only the registry's facts, so that one rule per region serves every configured kind:

- `AWS API Call via CloudTrail`: the kind from `(detail.eventSource, detail.eventName)` (a version
  suffix the registry does not list yet is read as its base operation), narrowed by the registry's
  resource filters when kinds share a call (`TagResource` on an ECS cluster or service: the ARN
  says which); the identifier from the request or response fields the registry names. A call that
  failed (`detail.errorCode`) changed nothing: it is ignored, never applied.
- a kind's native lifecycle event (`EC2 Instance State-change Notification`, CloudFormation's
  stack status change…): the kind from its `source` and `detail-type`, the action from its status.
- `Config Configuration Item Change` (AWS Config): the kind from `configurationItem.resourceType`,
  the identifier from the item (`core.kinds.config_items`), delete when the item's status says so.

    >>> event = {"version": "0", "source": "aws.sqs", "detail-type": "AWS API Call via CloudTrail",
    ...          "account": "123456789012", "region": "eu-west-1",
    ...          "detail": {"eventSource": "sqs.amazonaws.com", "eventName": "DeleteQueue",
    ...                     "requestParameters": {"queueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"}}}
    >>> request = resolve_raw_event(event)
    >>> request.kind, request.account, request.region, request.action, request.identifier
    ('AWS::SQS::Queue', '123456789012', 'eu-west-1', 'delete', 'jobs')

What cannot be resolved is either an `IgnoredEvent` (acknowledged on purpose: a failed call, a kind
the config does not sync, an event the registry does not know) or a `MessageError` (the event is
broken: it names the kind but not the resource).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from port_aws_exporter.core.installation import is_region_name
from port_aws_exporter.core.jq.engine import JqError, compile_program
from port_aws_exporter.core.kinds.cloudtrail import (
    CloudTrailFacts,
    EventField,
    base_operation_name,
    required_properties,
)
from port_aws_exporter.core.kinds.config_items import (
    CONFIG_DELETE_STATUSES,
    CONFIG_DETAIL_TYPE,
    CONFIG_ITEM_FACTS,
    CONFIG_SOURCE,
    ConfigItemFacts,
)
from port_aws_exporter.core.kinds.registry import KINDS
from port_aws_exporter.core.message import MessageError
from port_aws_exporter.core.partitions import partition_of_region

__all__ = ["IgnoredEvent", "IgnoredWhy", "ResourceRequest", "is_raw_event", "resolve_raw_event"]

# The same text as `eventbridge.cloudtrail.CLOUDTRAIL_DETAIL_TYPE`, which the core may not import
# (a test holds them equal).
CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")

Action = Literal["upsert", "delete"]
IgnoredWhy = Literal["failed-call", "unconfigured-kind", "unknown-event", "outside-accounts"]


@dataclass(frozen=True)
class ResourceRequest:
    """What an event asks of the exporter: `action` the resource `identifier` of `kind` in `region`
    of `account`. `event` says which event it came from, for logs."""

    kind: str
    account: str | None
    region: str
    action: Action
    identifier: str
    event: str = ""


@dataclass(frozen=True)
class IgnoredEvent:
    """An event acknowledged without a change, on purpose: `why` classifies it (for counts), `reason`
    says it for the log line."""

    why: IgnoredWhy
    reason: str
    kind: str | None = None
    account: str | None = None
    region: str | None = None


def is_raw_event(document: Mapping[str, Any]) -> bool:
    """Whether a queue message is a whole EventBridge event (not a seed message)."""
    return "resource_type" not in document and "detail-type" in document and "detail" in document


def resolve_raw_event(event: Mapping[str, Any], kinds: Collection[str] | None = None) -> ResourceRequest | IgnoredEvent:
    """The request a raw EventBridge event makes (`kinds`: the config's, None for every kind of the
    registry), or why it is ignored; raise MessageError when the event is broken."""
    detail = event.get("detail")
    detail_type = event.get("detail-type")
    if not isinstance(detail, Mapping):
        raise MessageError("the EventBridge event's detail must be a JSON object")
    if not isinstance(detail_type, str):
        raise MessageError("the EventBridge event's detail-type must be a string")
    account = _account(event.get("account"))
    region = _text(event.get("region"))
    if detail_type == CLOUDTRAIL_DETAIL_TYPE:
        return _api_call(event, detail, account, region, kinds)
    if detail_type == CONFIG_DETAIL_TYPE and event.get("source") == CONFIG_SOURCE:
        return _config_item(detail, account, region, kinds)
    native = _NATIVE.get((_text(event.get("source")), detail_type))
    if native is not None:
        return _native(event, native, account, region, kinds)
    return IgnoredEvent(
        "unknown-event",
        f"the kind registry knows no resource that {detail_type!r} events of {event.get('source')!r} change",
        account=account,
        region=region,
    )


# -- CloudTrail API calls ----------------------------------------------------------------------


def _call_index() -> dict[tuple[str, str], list[str]]:
    """(event source, event name or its base operation) -> the kinds whose facts list it."""
    index: dict[tuple[str, str], list[str]] = {}
    for kind, spec in KINDS.items():
        facts = spec.cloudtrail
        if facts is None:
            continue
        for name in facts.event_names:
            for key in dict.fromkeys((name, base_operation_name(name))):
                index.setdefault((facts.event_source, key), []).append(kind)
    return index


def _native_index() -> dict[tuple[str, str], str]:
    return {
        (spec.cloudtrail.eventbridge_source, spec.cloudtrail.native_event.detail_type): kind
        for kind, spec in KINDS.items()
        if spec.cloudtrail is not None and spec.cloudtrail.native_event is not None
    }


_CALLS = _call_index()
_NATIVE = _native_index()


def _api_call(
    event: Mapping[str, Any],
    detail: Mapping[str, Any],
    account: str | None,
    region: str,
    kinds: Collection[str] | None,
) -> ResourceRequest | IgnoredEvent:
    source, name = _text(detail.get("eventSource")), _text(detail.get("eventName"))
    if not source or not name:
        raise MessageError("a CloudTrail event needs detail.eventSource and detail.eventName (strings)")
    described = f"{source} {name}"
    error_code = detail.get("errorCode")
    if error_code not in (None, ""):
        return IgnoredEvent(
            "failed-call",
            f"{described} failed ({_text(error_code) or error_code!r}): a failed call changes nothing",
            account=account,
            region=region,
        )
    candidates = _CALLS.get((source, name)) or _CALLS.get((source, base_operation_name(name))) or []
    about = [kind for kind in candidates if _admits(KINDS[kind].cloudtrail, name, event)]
    if not about:
        return IgnoredEvent(
            "unknown-event",
            f"{described} is not a write event of a kind the registry knows"
            + (f" (not about a resource of {', '.join(candidates)})" if candidates else ""),
            account=account,
            region=region,
        )
    configured = [kind for kind in about if kinds is None or kind in kinds]
    if not configured:
        return _unconfigured(about[0], described, account, region)
    kind = configured[0]
    facts = KINDS[kind].cloudtrail
    assert facts is not None
    listed = _listed_name(facts, name)
    action = facts.action_of(listed)
    source_of = facts.delete_source_for(listed) if action == "delete" else facts.source_for(listed)
    if source_of is None:
        raise MessageError(f"the kind registry does not say where {described} names its {kind}")
    region = _region_of(region, described)
    identifier = _identifier(
        kind, described, source_of.fields, source_of.expression, lambda path: _at(event, path), region, account
    )
    return ResourceRequest(kind, account, region, action, identifier, described)


def _listed_name(facts: CloudTrailFacts, name: str) -> str:
    """The registry's spelling of an event name: itself, or the listed name of its base operation."""
    if name in facts.event_names:
        return name
    base = base_operation_name(name)
    return next((listed for listed in facts.event_names if base_operation_name(listed) == base), name)


def _admits(facts: CloudTrailFacts | None, name: str, event: Mapping[str, Any]) -> bool:
    """Whether the kind's resource filter for this call (if any) keeps the event."""
    if facts is None:
        return False
    item = facts.filter_for(_listed_name(facts, name))
    return item is None or item.admits(event)


# -- native lifecycle events -------------------------------------------------------------------


def _native(
    event: Mapping[str, Any], kind: str, account: str | None, region: str, kinds: Collection[str] | None
) -> ResourceRequest | IgnoredEvent:
    facts = KINDS[kind].cloudtrail
    assert facts is not None and facts.native_event is not None
    native = facts.native_event
    described = native.detail_type
    if kinds is not None and kind not in kinds:
        return _unconfigured(kind, described, account, region)
    status = _text(_first(event, native.status.path))
    action: Action = "delete" if status in native.delete_statuses else "upsert"
    expression = native.delete_expression if action == "delete" and native.delete_expression else native.expression
    region = _region_of(region, described)
    identifier = _identifier(kind, described, native.fields, expression, lambda path: _at(event, path), region, account)
    return ResourceRequest(kind, account, region, action, identifier, f"{described} {status}".strip())


# -- AWS Config configuration items ------------------------------------------------------------


def _config_item(
    detail: Mapping[str, Any], account: str | None, region: str, kinds: Collection[str] | None
) -> ResourceRequest | IgnoredEvent:
    item = detail.get("configurationItem")
    if not isinstance(item, Mapping):
        item = detail.get("configurationItemSummary")
    if not isinstance(item, Mapping):
        raise MessageError("a Config item change needs detail.configurationItem (or configurationItemSummary)")
    kind = _text(item.get("resourceType"))
    status = _text(item.get("configurationItemStatus"))
    if not kind:
        raise MessageError("the Config item has no resourceType")
    described = f"Config item {status or 'change'} of {kind}"
    account = _account(item.get("awsAccountId")) or account
    item_region = _text(item.get("awsRegion"))
    # Config records global resources (IAM) under the region "global": the event's region reads them.
    if is_region_name(item_region):
        region = item_region
    if kinds is not None and kind not in kinds:
        return _unconfigured(kind, described, account, region)
    facts: ConfigItemFacts | None = CONFIG_ITEM_FACTS.get(kind)
    if facts is None:
        return IgnoredEvent(
            "unknown-event",
            f"{described}: the kind registry has no AWS Config facts for {kind}",
            kind=kind,
            account=account,
            region=region,
        )
    action: Action = "delete" if status in CONFIG_DELETE_STATUSES else "upsert"
    expression = facts.delete_expression if action == "delete" and facts.delete_expression else facts.expression
    # Config's items differ in which fields they fill: the expression decides from what is there.
    fields = tuple(EventField(name, holds, optional=True) for name, holds in facts.fields)
    region = _region_of(region, described)
    identifier = _identifier(kind, described, fields, expression, lambda name: [item.get(name)], region, account)
    return ResourceRequest(kind, account, region, action, identifier, described)


# -- shared ------------------------------------------------------------------------------------


def _unconfigured(kind: str, described: str, account: str | None, region: str) -> IgnoredEvent:
    return IgnoredEvent(
        "unconfigured-kind", f"{described} is about {kind}, a kind the config does not sync", kind, account, region
    )


def _identifier(
    kind: str,
    described: str,
    fields: tuple[EventField, ...],
    expression: str,
    values_at: Any,
    region: str,
    account: str | None,
) -> str:
    """The identifier the expression makes of the first non-empty value of each property's fields."""
    properties: dict[str, str] = {}
    for item in fields:
        if properties.get(item.holds):
            continue
        found = next((value for value in values_at(item.path) if isinstance(value, str) and value), "")
        properties[item.holds] = found
    missing = [prop for prop in required_properties(fields, expression) if not properties.get(prop)]
    if missing:
        paths = [item.path for item in fields if item.holds in missing]
        raise MessageError(f"{described} does not name the {kind}: nothing at {', '.join(paths)}")
    partition = partition_of_region(region).name
    variables = {**properties, "region": region, "account": account or "", "partition": partition}
    program = "".join(f".{json.dumps(name)} as ${name} | " for name in variables) + f"({expression})"
    try:
        value = compile_program(program).first(variables)
    except JqError as error:
        raise MessageError(f"{described}: making the {kind} identifier failed: {error.message}") from None
    if not isinstance(value, str) or not value:
        raise MessageError(f"{described} does not name the {kind}: its fields give no identifier")
    return value


def _region_of(region: str, described: str) -> str:
    if not is_region_name(region):
        raise MessageError(f"{described}: the event's region {region!r} is not an AWS region name", field="region")
    return region


def _account(value: object) -> str | None:
    return value if isinstance(value, str) and _ACCOUNT_ID.match(value) else None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _at(event: Mapping[str, Any], path: str) -> list[Any]:
    """The value at an InputTransformer-style path (`$.detail.items[0].id`), as a list of at most one."""
    node: Any = event
    for key, index in _STEP.findall(path.removeprefix("$")):
        if key and isinstance(node, Mapping):
            node = node.get(key)
        elif index and isinstance(node, list) and int(index) < len(node):
            node = node[int(index)]
        else:
            return []
    return [node]


def _first(event: Mapping[str, Any], path: str) -> Any:
    found = _at(event, path)
    return found[0] if found else None
