"""Port's OpenAPI document (`../shared/reference/data/port-openapi.yaml`) as a validator, with openapi-core.

`PortSpec` loads the document once per session and validates a request or an answer against it.
`ContractRecorder` is an ASGI middleware for the local catalog (`start_catalog(wrap_app=...)`):
every request that reaches the catalog and every answer it gives is validated, and each
disagreement is recorded as a `Finding` for the tests to assert on.

Two things are not the document's words, and both are stated here:

- Patterns: JSON Schema patterns are ECMAScript regular expressions, which Port's server (Node,
  ajv) runs in Unicode mode, so `\\p{L}` is "any letter". Python's `re` has no `\\p{L}`; the
  `pattern` keyword is evaluated with `regress` (Rust's ECMAScript engine) and its `u` flag.
- `SPEC_GAPS`: what Port is known to answer that the document does not describe. Each gap names
  its source; the document is patched in memory (never copied) so that those answers validate, and
  `test_contract_suite.py` checks that the list stays exactly what is needed.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any
from urllib.parse import parse_qsl

import yaml
from jsonschema import ValidationError
from jsonschema.validators import extend
from openapi_core import Config, OpenAPI
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.templating.paths.finders import APICallPathFinder
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.schemas.factories import SchemaValidatorsFactory
from openapi_schema_validator import OAS30ReadValidator, OAS31Validator
from regress import Regex

from tests.conftest import SHARED_DATA

SPEC_PATH = SHARED_DATA / "port-openapi.yaml"
SERVER = "https://api.port.io"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@lru_cache(maxsize=256)
def ecma_regex(pattern: str) -> Regex:
    """A JSON Schema pattern as Port's server compiles it: ECMAScript, Unicode mode."""
    return Regex(pattern, "u")


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and ecma_regex(pattern).find(instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


PortSchemaValidator = extend(OAS31Validator, {"pattern": _ecma_pattern})  # type: ignore[no-untyped-call]


class _SpecLoader(yaml.CSafeLoader):
    """YAML 1.2 as the document is written: PyYAML's 1.1 reading makes a bare `=` a `value` tag."""


def _plain_scalar(loader: yaml.BaseLoader, node: yaml.Node) -> Any:
    assert isinstance(node, yaml.ScalarNode)
    return loader.construct_scalar(node)


_SpecLoader.add_constructor("tag:yaml.org,2002:value", _plain_scalar)


@dataclass(frozen=True)
class SpecGap:
    """Something Port answers that its OpenAPI document does not describe, and where that is known from."""

    where: str
    what: str
    source: str


# Entity fields Port returns on every entity (entity JSON structure in Port's docs, and the
# meta-properties `$createdAt`, `$updatedAt`, `$createdBy`, `$updatedBy`, `$blueprint`) that the
# document's entity response schemas, all `additionalProperties: false`, leave out.
ENTITY_META_FIELDS = ("blueprint", "createdAt", "createdBy", "updatedAt", "updatedBy")

SPEC_GAPS: tuple[SpecGap, ...] = (
    SpecGap(
        "entity objects in responses (get, list, create, update, both searches)",
        f"carry {', '.join(ENTITY_META_FIELDS)}; the schemas forbid any field but identifier, title, "
        "icon, team, properties, relations",
        "Port's entity JSON structure and meta-properties docs; the full sync's stale search reads $updatedAt",
    ),
    SpecGap(
        "DELETE /v1/blueprints/{blueprint_identifier}/all-entities, 200",
        "with delete_blueprint=true the answer carries migrationId (the blueprint is deleted by a migration)",
        "Port's Terraform provider (blueprint delete with force_delete_entities waits on that migration)",
    ),
    SpecGap(
        "every operation",
        "429 (rate limited), 403 (has_dependents), 409 (identifier_taken) and 5xx are not documented; "
        "they carry the documented error shape {ok: false, error, message}",
        "Port's rate-limits page (x-ratelimit-* headers, 429); Port's error codes as its clients read them",
    ),
)
UNDOCUMENTED_ERROR_STATUSES = frozenset({403, 409, 429, 500, 502, 503})
_ERROR_SHAPE = {
    "type": "object",
    "properties": {"ok": {"const": False}, "error": {"type": "string"}, "message": {"type": "string"}},
    "required": ["ok", "error", "message"],
    "additionalProperties": False,
}


def _load_document() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=_SpecLoader)
    return document


def _is_entity_schema(schema: Any) -> bool:
    return (
        isinstance(schema, dict)
        and schema.get("additionalProperties") is False
        and {"identifier", "properties", "relations"} <= set(schema.get("properties", {}))
    )


def _entity_schemas(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if _is_entity_schema(node):
            yield node
        for value in node.values():
            yield from _entity_schemas(value)
    elif isinstance(node, list):
        for item in node:
            yield from _entity_schemas(item)


def patched_document() -> dict[str, Any]:
    """The document with `SPEC_GAPS` filled in, in memory."""
    document = copy.deepcopy(_load_document())
    for methods in document["paths"].values():
        for operation in methods.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, response in operation["responses"].items():
                if status.startswith("2"):
                    for schema in _entity_schemas(response):
                        for name in ENTITY_META_FIELDS:
                            schema["properties"].setdefault(name, {"type": "string"})
    delete_all = document["paths"]["/v1/blueprints/{blueprint_identifier}/all-entities"]["delete"]
    answer = delete_all["responses"]["200"]["content"]["application/json"]["schema"]
    answer["properties"]["migrationId"] = {"type": "string"}
    return document


@dataclass(frozen=True)
class Finding:
    """One disagreement with the document."""

    kind: str  # "request", "response", "route"
    method: str
    path: str
    status: int | None
    detail: str
    from_client: bool

    def __str__(self) -> str:
        status = f" -> {self.status}" if self.status is not None else ""
        return f"{self.kind}: {self.method} {self.path}{status}: {self.detail}"


def _describe(error: BaseException) -> str:
    details = [str(error).split("\n")[0][:300]]
    cause: BaseException | None = error
    while cause is not None:
        for schema_error in getattr(cause, "schema_errors", None) or ():
            path = "/".join(str(part) for part in schema_error.absolute_path) or "#"
            details.append(f"{path}: {schema_error.message[:300]}")
        cause = cause.__cause__
    return "; ".join(details)


class PortSpec:
    """Validation of requests and answers against Port's document."""

    def __init__(self) -> None:
        factory = SchemaValidatorsFactory(PortSchemaValidator, format_checker=OAS30ReadValidator.FORMAT_CHECKER)
        self.document = patched_document()
        self.api = OpenAPI.from_dict(
            self.document,
            config=Config(spec_validator_cls=None, schema_validators_factory=factory),  # type: ignore[arg-type]
        )
        self._paths = APICallPathFinder(self.api.spec)

    def request(
        self, method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: bytes
    ) -> MockRequest:
        """A request as openapi-core reads it."""
        content_type = headers.get("content-type", "application/json").split(";")[0]
        return MockRequest(
            SERVER,
            method,
            path,
            args=query,  # type: ignore[arg-type]  # a multi-dict's items, as Werkzeug takes them
            headers=headers,
            data=body or None,
            content_type=content_type,
        )

    def operation_exists(self, method: str, path: str) -> bool:
        """Whether the document has this route (method and path template)."""
        try:
            self._paths.find(method.lower(), SERVER + path)
        except (PathNotFound, OperationNotFound):
            return False
        return True

    def request_problem(self, request: MockRequest) -> str | None:
        """Why the document refuses `request`, or None."""
        try:
            self.api.validate_request(request)
        except Exception as error:
            return _describe(error)
        return None

    def response_problem(self, request: MockRequest, status: int, body: bytes, content_type: str) -> str | None:
        """Why the document refuses this answer to `request`, or None."""
        if status in UNDOCUMENTED_ERROR_STATUSES:
            return _error_shape_problem(body)
        response = MockResponse(body, status_code=status, content_type=content_type)
        try:
            self.api.validate_response(request, response)
        except Exception as error:
            return _describe(error)
        return None


def _error_shape_problem(body: bytes) -> str | None:
    try:
        answer = json.loads(body)
    except ValueError:
        return "the body is not JSON"
    errors = [error.message for error in PortSchemaValidator(_ERROR_SHAPE).iter_errors(answer)]
    return "; ".join(errors) or None


@cache
def port_spec() -> PortSpec:
    """The session's `PortSpec` (loading the 1.6 MB document takes about a second)."""
    return PortSpec()


CLIENT_USER_AGENT_PREFIX = "port-aws-exporter/"


@dataclass
class ContractRecorder:
    """ASGI middleware: validates every `/v1` request and answer; records what disagrees.

    A request the document refuses is a finding when the Port client sent it (its User-Agent); a
    request a test sent on purpose must then have been refused by the catalog too (4xx), or that
    is a finding. Every answer is validated.
    """

    spec: PortSpec
    findings: list[Finding] = field(default_factory=list)
    routes_seen: set[tuple[str, str]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wrap(self, app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
                await app(scope, receive, send)
                return
            body = bytearray()

            async def recording_receive() -> Message:
                message = await receive()
                if message["type"] == "http.request":
                    body.extend(message.get("body", b""))
                return message

            answer: dict[str, Any] = {"body": bytearray()}

            async def recording_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    answer["status"] = message["status"]
                    answer["headers"] = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
                elif message["type"] == "http.response.body":
                    answer["body"].extend(message.get("body", b""))
                await send(message)

            await app(scope, recording_receive, recording_send)
            self.check(scope, bytes(body), answer)

        return middleware

    def check(self, scope: Scope, body: bytes, answer: dict[str, Any]) -> None:
        """Validate one exchange."""
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        method, raw_path = scope["method"], scope.get("raw_path", scope["path"].encode()).decode()
        query = parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True)
        from_client = headers.get("user-agent", "").startswith(CLIENT_USER_AGENT_PREFIX)
        status: int = answer["status"]
        request = self.spec.request(method, raw_path, query, headers, body)
        findings: list[Finding] = []
        route_known = self.spec.operation_exists(method, raw_path)
        if not route_known:
            findings.append(Finding("route", method, raw_path, status, "the document has no such route", from_client))
        else:
            problem = self.spec.request_problem(request)
            authenticated = "authorization" in headers or raw_path == "/v1/auth/access_token"
            if problem and from_client:
                findings.append(Finding("request", method, raw_path, status, problem, from_client))
            elif problem and authenticated and status < 400:
                detail = f"the document refuses this request, the catalog answered {status}: {problem}"
                findings.append(Finding("request", method, raw_path, status, detail, from_client))
            content_type = answer["headers"].get("content-type", "application/json").split(";")[0]
            response_problem = self.spec.response_problem(request, status, bytes(answer["body"]), content_type)
            if response_problem:
                findings.append(Finding("response", method, raw_path, status, response_problem, from_client))
        with self._lock:
            self.routes_seen.add((method, raw_path))
            self.findings.extend(findings)

    def take_findings(self) -> list[Finding]:
        """The findings so far, forgotten."""
        with self._lock:
            findings, self.findings = self.findings, []
            return findings
