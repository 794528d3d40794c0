"""HTTP routes that control the local endpoint itself, under `/_local/`.

- `GET /_local/health`: `{"status": "ok"}`.
- `GET /_local/faults`: the active fault rules, with remaining counts and how often each fired.
- `POST /_local/faults`: add a rule, or a list of rules, each `{"target", "code", "status", "message",
  "region", "count", "probability", "latency_ms"}` (see `FaultRule`); answers `{"ids": [...]}`.
- `DELETE /_local/faults`: remove every rule; `DELETE /_local/faults/<id>`: remove one.
- `POST /_local/reset`: empty moto, the Cloud Control store and the fault rules.
- `GET /_local/stats`, `DELETE /_local/stats`: requests served and seconds spent per part; reset them.
- `GET /_local/eventbridge`: per rule ARN the local EventBridge's MatchedEvents, Invocations and
  FailedInvocations, and the recent failed invocations with why; `DELETE` clears them.
- `POST /_local/bulk/lambda-functions`: `{"count", "region", "prefix", "start", "runtime",
  "memory_size", "tags"}`: create Lambda functions in moto directly (see `BulkLambdaSpec`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from port_aws_exporter.local.aws.aws_request import AwsRequest
from port_aws_exporter.local.aws.bulk_seed import BulkLambdaSpec
from port_aws_exporter.local.aws.eventbridge import EventBridgeMetrics
from port_aws_exporter.local.aws.faults import FaultInjector, FaultRule
from port_aws_exporter.local.aws.http_response import HttpResponse, json_response
from port_aws_exporter.local.aws.middleware import CONTROL_PREFIX, ServerStats


class _BadRequest(Exception):
    pass


@dataclass
class ControlRoutes:
    """The `/_local/` routes, wired to the running endpoint's parts."""

    faults: FaultInjector
    stats: ServerStats
    reset: Callable[[], None]
    bulk_lambda: Callable[[str, BulkLambdaSpec], list[str]]
    eventbridge: EventBridgeMetrics

    def __call__(self, request: AwsRequest) -> HttpResponse:
        """Answer one control request."""
        route = request.path[len(CONTROL_PREFIX) :].strip("/")
        try:
            return self._route(request.method, route, request)
        except (_BadRequest, ValueError, TypeError) as error:
            return json_response({"error": str(error)}, status=400)

    def _route(self, method: str, route: str, request: AwsRequest) -> HttpResponse:
        if route == "health" and method == "GET":
            return json_response({"status": "ok"})
        if route == "faults":
            return self._faults(method, request)
        if route.startswith("faults/") and method == "DELETE":
            rule_id = route.partition("/")[2]
            if not self.faults.remove(rule_id):
                return json_response({"error": f"no fault rule with id {rule_id}"}, status=404)
            return json_response({"removed": rule_id})
        if route == "reset" and method == "POST":
            self.reset()
            return json_response({"status": "ok"})
        if route == "stats":
            return self._stats(method)
        if route == "eventbridge":
            return self._eventbridge(method)
        if route == "bulk/lambda-functions" and method == "POST":
            spec = BulkLambdaSpec(**_json_body(request))
            names = self.bulk_lambda(request.account_id, spec)
            return json_response({"created": len(names), "first": names[:1], "last": names[-1:]})
        return json_response({"error": f"no route {method} {CONTROL_PREFIX}{route}"}, status=404)

    def _faults(self, method: str, request: AwsRequest) -> HttpResponse:
        if method == "GET":
            return json_response({"faults": self.faults.rules()})
        if method == "POST":
            body = _json_body(request)
            rules = body if isinstance(body, list) else [body]
            parsed = [FaultRule.from_dict(rule) for rule in rules]
            return json_response({"ids": [self.faults.add(rule) for rule in parsed]}, status=201)
        if method == "DELETE":
            count = len(self.faults.rules())
            self.faults.clear()
            return json_response({"removed": count})
        return json_response({"error": f"{method} is not allowed on {CONTROL_PREFIX}faults"}, status=405)

    def _eventbridge(self, method: str) -> HttpResponse:
        if method == "GET":
            return json_response(self.eventbridge.snapshot())
        if method == "DELETE":
            self.eventbridge.clear()
            return json_response({"status": "ok"})
        return json_response({"error": f"{method} is not allowed on {CONTROL_PREFIX}eventbridge"}, status=405)

    def _stats(self, method: str) -> HttpResponse:
        if method == "GET":
            return json_response(self.stats.snapshot())
        if method == "DELETE":
            self.stats.clear()
            return json_response({"status": "ok"})
        return json_response({"error": f"{method} is not allowed on {CONTROL_PREFIX}stats"}, status=405)


def _json_body(request: AwsRequest) -> Any:
    try:
        body = json.loads(request.body or b"null")
    except ValueError as error:
        raise _BadRequest(f"the body is not JSON: {error}") from error
    if not isinstance(body, dict | list):
        raise _BadRequest("the body must be a JSON object (or a list of objects)")
    return body
