"""Name the operation of a REST-protocol request (Lambda, S3, API Gateway...) from its method and path.

REST calls carry no operation name on the wire, so fault rules could not say `lambda:GetFunction`
without this. The operation table comes from botocore's own service model (`requestUri` templates),
is built on first use per service (from the models `rules.event_names` loads for CloudTrail's
records too), and is only consulted while a fault rule is active.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qs

from port_aws_exporter.rules.event_names import service_model

# SigV4 signing names whose botocore service name differs.
_SIGNING_ALIASES = {
    "execute-api": "apigateway",
    "es": "opensearch",
    "aoss": "opensearchserverless",
    "elasticloadbalancing": "elbv2",
    "monitoring": "cloudwatch",
    "email": "sesv2",
    "states": "stepfunctions",
    "cloudcontrolapi": "cloudcontrol",
    "eventbridge": "events",
}
_PLACEHOLDER = re.compile(r"\{([^}]+)\}")


def botocore_service_name(signing_name: str) -> str:
    """The botocore service name for a SigV4 signing name (`monitoring` -> `cloudwatch`)."""
    return _SIGNING_ALIASES.get(signing_name, signing_name)


@dataclass(frozen=True)
class _RestRoute:
    operation: str
    method: str
    path: re.Pattern[str]
    query: tuple[tuple[str, str | None], ...]
    headers: tuple[str, ...]
    specificity: int

    def matches(self, method: str, path: str, query: dict[str, list[str]], headers: Container[str]) -> bool:
        if method != self.method or not self.path.match(path):
            return False
        if not all(header in headers for header in self.headers):
            return False
        return all(key in query and (value is None or value in query[key]) for key, value in self.query)


def _required_headers(operation: Any) -> tuple[str, ...]:
    """Header names the operation always sends (CopyObject's `x-amz-copy-source` tells it from PutObject)."""
    shape = operation.input_shape
    if shape is None:
        return ()
    required = set(shape.required_members)
    return tuple(
        member.serialization["name"].lower()
        for name, member in shape.members.items()
        if name in required and member.serialization.get("location") == "header"
    )


def _compile(operation: str, method: str, request_uri: str, headers: tuple[str, ...] = ()) -> _RestRoute:
    path_template, _, query_template = request_uri.partition("?")
    pattern, literal_length, position = "", 0, 0
    for placeholder in _PLACEHOLDER.finditer(path_template):
        literal = path_template[position : placeholder.start()]
        pattern += re.escape(literal)
        literal_length += len(literal)
        pattern += "(.+)" if placeholder.group(1).endswith("+") else "([^/]+)"
        position = placeholder.end()
    tail = path_template[position:].rstrip("/")
    pattern += re.escape(tail) + "/?"
    literal_length += len(tail)
    query: list[tuple[str, str | None]] = []
    for item in filter(None, query_template.split("&")):
        key, has_value, value = item.partition("=")
        query.append((key, value if has_value else None))
    specificity = literal_length + 100 * len(query) + 50 * len(headers)
    return _RestRoute(operation, method, re.compile(f"^{pattern}$"), tuple(query), headers, specificity)


@cache
def _routes(service: str) -> tuple[_RestRoute, ...]:
    model = service_model(botocore_service_name(service))
    if model is None:
        return ()
    routes = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        http = operation.http
        if "requestUri" in http:
            routes.append(_compile(name, http.get("method", "POST"), http["requestUri"], _required_headers(operation)))
    return tuple(sorted(routes, key=lambda route: -route.specificity))


def rest_operation_name(service: str, method: str, path: str, query_string: str, headers: Container[str] = ()) -> str:
    """The operation botocore would have sent as `method path?query` to `service`, '' when unknown.

    `headers`: the lower-case names of the request's headers.
    """
    if not service:
        return ""
    query = parse_qs(query_string, keep_blank_values=True)
    for route in _routes(service):
        if route.matches(method, path, query, headers):
            return route.operation
    return ""
