"""Name the operation of a REST-protocol request (Lambda, S3, API Gateway...) from its method and path.

REST calls carry no operation name on the wire, so fault rules could not say `lambda:GetFunction`
without this. The operation table comes from botocore's own service model (`requestUri` templates),
is built on first use per service, and is only consulted while a fault rule is active.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from urllib.parse import parse_qs

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


@dataclass(frozen=True)
class _RestRoute:
    operation: str
    method: str
    path: re.Pattern[str]
    query: tuple[tuple[str, str | None], ...]
    specificity: int

    def matches(self, method: str, path: str, query: dict[str, list[str]]) -> bool:
        if method != self.method or not self.path.match(path):
            return False
        return all(key in query and (value is None or value in query[key]) for key, value in self.query)


def _compile(operation: str, method: str, request_uri: str) -> _RestRoute:
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
    return _RestRoute(
        operation, method, re.compile(f"^{pattern}$"), tuple(query), literal_length + 100 * len(query)
    )


@cache
def _routes(service: str) -> tuple[_RestRoute, ...]:
    import botocore.session
    from botocore.exceptions import UnknownServiceError

    session = botocore.session.get_session()
    try:
        model = session.get_service_model(_SIGNING_ALIASES.get(service, service))
    except UnknownServiceError:
        return ()
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        if "requestUri" in http:
            routes.append(_compile(name, http.get("method", "POST"), http["requestUri"]))
    return tuple(sorted(routes, key=lambda route: -route.specificity))


def rest_operation_name(service: str, method: str, path: str, query_string: str) -> str:
    """The operation botocore would have sent as `method path?query` to `service`, '' when unknown."""
    if not service:
        return ""
    query = parse_qs(query_string, keep_blank_values=True)
    for route in _routes(service):
        if route.matches(method, path, query):
            return route.operation
    return ""
