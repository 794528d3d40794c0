"""`AWSEvents.TestEventPattern`, answered by the project's matcher (moto's is a stub returning `{}`).

AWS requires the event's `id`, `account`, `source`, `time`, `region`, `resources` and `detail-type`;
a pattern AWS refuses is an `InvalidEventPatternException` with AWS's text.
"""

from __future__ import annotations

import json
from typing import Any

from port_aws_exporter.eventbridge.pattern import InvalidPatternError, compile_pattern
from port_aws_exporter.local.aws.aws_request import JSON, AwsRequest
from port_aws_exporter.local.aws.error_responses import error_response
from port_aws_exporter.local.aws.http_response import HttpResponse, json_response

__all__ = ["TARGET", "answer_test_event_pattern"]

TARGET = "AWSEvents.TestEventPattern"
_REQUIRED_EVENT_FIELDS = ("id", "account", "source", "time", "region", "resources", "detail-type")
_CONTENT_TYPE = "application/x-amz-json-1.1"


def answer_test_event_pattern(request: AwsRequest) -> HttpResponse:
    """Answer one TestEventPattern call: `{"Result": true|false}` or AWS's error."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return _error("SerializationException", "the request body is not JSON")
    pattern, event_text = body.get("EventPattern"), body.get("Event")
    if not isinstance(pattern, str) or not isinstance(event_text, str):
        return _error("ValidationException", "EventPattern and Event are required strings.")
    try:
        compiled = compile_pattern(pattern)
    except InvalidPatternError as error:
        return _error("InvalidEventPatternException", str(error))
    event = _event(event_text)
    if event is None:
        return _error("ValidationException", "Parameter Event is not valid.")
    return json_response({"Result": compiled.match(event).matched}, content_type=_CONTENT_TYPE)


def _event(text: str) -> dict[str, Any] | None:
    try:
        event = json.loads(text)
    except ValueError:
        return None
    if not isinstance(event, dict) or any(field not in event for field in _REQUIRED_EVENT_FIELDS):
        return None
    return event


def _error(code: str, message: str) -> HttpResponse:
    return error_response(JSON, code, message, json_version="1.1")
