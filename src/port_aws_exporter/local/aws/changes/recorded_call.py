"""An API call as CloudTrail records it: event source and name, request parameters, response elements.

CloudTrail writes a call's parameters with the API's member names starting in lower case
(`FunctionName` -> `functionName`), keeps map keys (tag keys) as they are, leaves binary payloads
and the HTTP status out, hides sensitive members (`HIDDEN_DUE_TO_SECURITY_REASONS`) and writes timestamps as
`Jan 2, 2024, 3:04:05 AM`. `cloudtrail_parameters` does that by walking botocore's model of the
operation, so the record carries the real values of the call that was made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from port_aws_exporter.rules.event_names import events_of_source, operation_model

__all__ = ["HIDDEN", "RecordedCall", "cloudtrail_event_name", "cloudtrail_parameters", "cloudtrail_time"]

HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
_OMITTED = object()


@dataclass(frozen=True)
class RecordedCall:
    """One state-changing API call the change made, as CloudTrail records it.

    `region` is where its event is delivered (us-east-1 for global services such as IAM);
    `error_code`/`error_message` are set when the call failed (then `response_elements` is None).
    """

    event_source: str
    event_name: str
    region: str
    request_parameters: dict[str, Any] | None
    response_elements: dict[str, Any] | None
    error_code: str | None = None
    error_message: str | None = None


def cloudtrail_event_name(event_source: str, service: str, operation: str) -> str:
    """The name CloudTrail records for `operation` (versioned for Lambda: `CreateFunction20150331`)."""
    for event in events_of_source(event_source):
        if event.service == service and event.operation == operation:
            return event.name
    return operation


def cloudtrail_parameters(
    service: str, operation: str, values: Mapping[str, Any], *, output: bool = False
) -> dict[str, Any] | None:
    """`values` (a call's parameters, or its response when `output`) as CloudTrail records them;
    None when nothing is left (CloudTrail's `null` response elements)."""
    model = operation_model(service, operation)
    shape = None if model is None else (model.output_shape if output else model.input_shape)
    recorded = _value(dict(values), shape)
    if not isinstance(recorded, dict):
        return None
    recorded.pop("responseMetadata", None)
    return recorded or None


def cloudtrail_time(moment: datetime) -> str:
    """A timestamp the way CloudTrail writes those inside request and response elements."""
    hour = moment.hour % 12 or 12
    return f"{moment:%b} {moment.day}, {moment.year}, {hour}:{moment:%M:%S} {'AM' if moment.hour < 12 else 'PM'}"


def _value(value: Any, shape: Any) -> Any:
    if isinstance(value, bytes | bytearray) or (shape is not None and shape.type_name == "blob"):
        return _OMITTED
    if shape is not None and shape.metadata.get("sensitive"):
        return HIDDEN
    if isinstance(value, datetime):
        return cloudtrail_time(value)
    if isinstance(value, Mapping):
        return _mapping(value, shape)
    if isinstance(value, list | tuple):
        member = getattr(shape, "member", None)
        return [item for item in (_value(element, member) for element in value) if item is not _OMITTED]
    return value


def _mapping(value: Mapping[str, Any], shape: Any) -> dict[str, Any]:
    if shape is not None and shape.type_name == "map":
        entries = ((key, _value(item, shape.value)) for key, item in value.items())
        return {key: item for key, item in entries if item is not _OMITTED}
    members = shape.members if shape is not None and shape.type_name == "structure" else {}
    recorded: dict[str, Any] = {}
    for key, item in value.items():
        member = members.get(key)
        if member is not None and member.serialization.get("location") == "statusCode":
            continue  # the HTTP status, not part of what the call sent or answered
        converted = _value(item, member)
        if converted is not _OMITTED:
            recorded[key[:1].lower() + key[1:]] = converted
    return recorded
