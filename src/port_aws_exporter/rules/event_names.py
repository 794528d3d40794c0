"""The event names CloudTrail records for a service: its API operations, from botocore's models.

CloudTrail names an API call after the operation (`CreateQueue`), except where a service versions
its names: Lambda appends the API version of the operation's path (`CreateFunction20150331`,
`DeleteFunctionConcurrency20171031`) and a few revisions (`UpdateFunctionConfiguration20150331v2`),
which the kind registry lists. Several botocore services may log under one event source
(`elasticloadbalancing.amazonaws.com`: ELB classic and v2; `es.amazonaws.com`: OpenSearch and
Elasticsearch; `apigateway.amazonaws.com`: API Gateway v1 and v2).

Read-only calls (Get, List, Describe…) are left out: they change nothing a catalog shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import botocore.session
from botocore.exceptions import UnknownServiceError

from port_aws_exporter.core.kinds.cloudtrail import base_operation_name
from port_aws_exporter.core.kinds.registry import KINDS

__all__ = ["ApiEvent", "api_event", "events_of_source", "operation_model", "service_model"]

# Event source prefix -> botocore services logging under it, where the names differ.
_SERVICES_BY_PREFIX: dict[str, tuple[str, ...]] = {
    "apigateway": ("apigateway", "apigatewayv2"),
    "elasticloadbalancing": ("elbv2", "elb"),
    "es": ("opensearch", "es"),
    "states": ("stepfunctions",),
    "elasticfilesystem": ("efs",),
    "monitoring": ("cloudwatch",),
    "email": ("sesv2", "ses"),
    "execute-api": ("apigatewaymanagementapi",),
}
# Services whose CloudTrail names carry the API version of the operation's request path.
_PATH_VERSIONED = frozenset({"lambda"})
_READ_ONLY_PREFIXES = ("Get", "List", "Describe", "Head", "Lookup", "Search", "BatchGet", "Select")
_PATH_DATE = re.compile(r"^/(\d{4})-(\d{2})-(\d{2})/")


@dataclass(frozen=True)
class ApiEvent:
    """One API call as CloudTrail names it, and the botocore operation behind it."""

    name: str
    service: str
    operation: str


@lru_cache(maxsize=64)
def service_model(service: str) -> Any | None:
    """botocore's model of `service`, or None when botocore does not know it."""

    try:
        return _session().get_service_model(service)
    except UnknownServiceError:
        return None
    except botocore.exceptions.DataNotFoundError:
        return None


@lru_cache(maxsize=1)
def _session() -> Any:

    return botocore.session.get_session()


def operation_model(service: str, operation: str) -> Any | None:
    """botocore's model of one operation, or None."""
    model = service_model(service)
    if model is None or operation not in model.operation_names:
        return None
    return model.operation_model(operation)


@lru_cache(maxsize=128)
def events_of_source(event_source: str) -> tuple[ApiEvent, ...]:
    """Every state-changing API call logged under `event_source` (`lambda.amazonaws.com`), named
    as CloudTrail names it; empty when botocore knows no service for the source."""
    prefix = event_source.split(".", 1)[0]
    known = _registry_names(event_source)
    events: dict[str, ApiEvent] = {}
    for service in _SERVICES_BY_PREFIX.get(prefix, (prefix,)):
        model = service_model(service)
        if model is None:
            continue
        for operation in model.operation_names:
            if operation.startswith(_READ_ONLY_PREFIXES):
                continue
            name = known.get(operation) or _recorded_name(service, model, operation)
            events.setdefault(name, ApiEvent(name, service, operation))
    return tuple(events.values())


def api_event(event_source: str, event_name: str) -> ApiEvent | None:
    """The API call behind an event name of `event_source` (a versioned name included)."""
    for event in events_of_source(event_source):
        if event.name == event_name:
            return event
    base = base_operation_name(event_name)
    return next((event for event in events_of_source(event_source) if event.operation == base), None)


def _recorded_name(service: str, model: Any, operation: str) -> str:
    if service not in _PATH_VERSIONED:
        return operation
    path = model.operation_model(operation).http.get("requestUri", "")
    match = _PATH_DATE.match(path)
    return operation + "".join(match.groups()) if match else operation


def _registry_names(event_source: str) -> dict[str, str]:
    """Operation -> the exact name the kind registry knows CloudTrail records for it."""
    names: dict[str, str] = {}
    for spec in KINDS.values():
        facts = spec.cloudtrail
        if facts is None or facts.event_source != event_source:
            continue
        for name in facts.event_names:
            names.setdefault(base_operation_name(name), name)
    return names
