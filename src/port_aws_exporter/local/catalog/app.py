"""The local catalog's HTTP API: Port's `/v1` routes and a few `/_local` control routes; its
read-only web page (`web/`) at `/`.

Each `/v1` request passes, in order: fault injection, rate limiting (`x-ratelimit-*` headers on
every answer), authentication (bearer token), the 1 MiB body limit, JSON parsing, then the
`CatalogService` operation, run in a worker thread because SQLite calls block.

Control routes (no token, no faults; for tests and demos):

- `GET /_local/health`
- `GET /_local/faults`, `PUT /_local/faults` (a JSON object of `FaultSettings` fields to change),
  `DELETE /_local/faults` (no faults)
- `POST /_local/tokens/revoke` (every issued token becomes invalid: the next call gets a 401)
- `POST /_local/reset` (delete every blueprint and entity, clear faults)
- `GET /_local/stats`, `DELETE /_local/stats`: requests and seconds spent per operation
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from port_aws_exporter.local.catalog.entity_writes import WriteMode, WriteOptions, Writer
from port_aws_exporter.local.catalog.errors import CatalogError, invalid
from port_aws_exporter.local.catalog.faults import FaultInjector, FaultSettings
from port_aws_exporter.local.catalog.ratelimit import RateLimiter
from port_aws_exporter.local.catalog.route_bodies import patch_entity_body
from port_aws_exporter.local.catalog.service import CatalogService
from port_aws_exporter.local.catalog.stats import RequestStats
from port_aws_exporter.local.catalog.tokens import TokenIssuer
from port_aws_exporter.local.catalog.web import CatalogPages

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024


@dataclass
class CatalogState:
    """What the routes share."""

    service: CatalogService
    tokens: TokenIssuer
    faults: FaultInjector
    limiter: RateLimiter = field(default_factory=RateLimiter)
    max_body_bytes: int = MAX_BODY_BYTES
    stats: RequestStats = field(default_factory=RequestStats)


@dataclass(frozen=True)
class Call:
    """One authenticated `/v1` request, as an operation sees it."""

    path: dict[str, str]
    query: QueryParams
    body: Any
    writer: Writer

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean query parameter (`true`/`false`)."""
        value = self.query.get(name)
        if value is None or value == "":
            return default
        if value.lower() not in ("true", "false"):
            raise invalid(f"query parameter {name!r} must be true or false, got {value!r}")
        return value.lower() == "true"


Operation = Callable[[Call], tuple[int, dict[str, Any]]]


def build_app(state: CatalogState) -> Starlette:
    """The Starlette application serving `state`."""
    operations = CatalogOperations(state)
    v1 = _PortRoute(state)
    routes = [
        Route("/v1/auth/access_token", v1.public(operations.access_token), methods=["POST"]),
        Route("/v1/blueprints", v1(operations.list_blueprints), methods=["GET"]),
        Route("/v1/blueprints", v1(operations.create_blueprint), methods=["POST"]),
        Route("/v1/blueprints/{blueprint}", v1(operations.get_blueprint), methods=["GET"]),
        Route("/v1/blueprints/{blueprint}", v1(operations.replace_blueprint), methods=["PUT"]),
        Route("/v1/blueprints/{blueprint}", v1(operations.patch_blueprint), methods=["PATCH"]),
        Route("/v1/blueprints/{blueprint}", v1(operations.delete_blueprint), methods=["DELETE"]),
        Route("/v1/blueprints/{blueprint}/entities", v1(operations.list_entities), methods=["GET"]),
        Route("/v1/blueprints/{blueprint}/entities", v1(operations.write_entity), methods=["POST"]),
        Route("/v1/blueprints/{blueprint}/entities/bulk", v1(operations.bulk_write), methods=["POST"]),
        Route("/v1/blueprints/{blueprint}/entities-count", v1(operations.count_entities), methods=["GET"]),
        Route("/v1/blueprints/{blueprint}/entities/search", v1(operations.search_blueprint), methods=["POST"]),
        Route("/v1/blueprints/{blueprint}/all-entities", v1(operations.delete_all), methods=["DELETE"]),
        Route("/v1/blueprints/{blueprint}/bulk/entities/delete", v1(operations.bulk_delete), methods=["POST"]),
        Route("/v1/blueprints/{blueprint}/entities/{entity:path}", v1(operations.get_entity), methods=["GET"]),
        Route(
            "/v1/blueprints/{blueprint}/entities/{entity:path}",
            v1(operations.delete_entity),
            methods=["DELETE"],
        ),
        Route(
            "/v1/blueprints/{blueprint}/entities/{entity:path}",
            v1(operations.patch_entity),
            methods=["PATCH"],
        ),
        Route("/v1/blueprints/{blueprint}/entities/{entity:path}", v1(operations.put_entity), methods=["PUT"]),
        Route("/v1/entities/search", v1(operations.search), methods=["POST"]),
        *_control_routes(state),
    ]
    pages = CatalogPages(state.service.database.path, state.tokens)
    return Starlette(
        routes=[*routes, *pages.routes()],
        exception_handlers={HTTPException: _route_not_found},  # type: ignore[dict-item]
        lifespan=pages.lifespan,
    )


class CatalogOperations:
    """Port's `/v1` operations over a `CatalogService`; each returns `(status, body)`."""

    def __init__(self, state: CatalogState) -> None:
        self.state = state
        self.service = state.service

    def access_token(self, call: Call) -> tuple[int, dict[str, Any]]:
        token, expires_in = self.state.tokens.issue(call.body)
        return 200, {"ok": True, "accessToken": token, "expiresIn": expires_in, "tokenType": "Bearer"}

    def list_blueprints(self, call: Call) -> tuple[int, dict[str, Any]]:
        return 200, {"ok": True, "blueprints": self.service.list_blueprints()}

    def create_blueprint(self, call: Call) -> tuple[int, dict[str, Any]]:
        return 201, {"ok": True, "blueprint": self.service.create_blueprint(call.body, call.writer)}

    def get_blueprint(self, call: Call) -> tuple[int, dict[str, Any]]:
        return 200, {"ok": True, "blueprint": self.service.get_blueprint(call.path["blueprint"])}

    def replace_blueprint(self, call: Call) -> tuple[int, dict[str, Any]]:
        blueprint = self.service.replace_blueprint(call.path["blueprint"], call.body, call.writer)
        return 200, {"ok": True, "blueprint": blueprint}

    def patch_blueprint(self, call: Call) -> tuple[int, dict[str, Any]]:
        blueprint = self.service.patch_blueprint(call.path["blueprint"], call.body, call.writer)
        return 200, {"ok": True, "blueprint": blueprint}

    def delete_blueprint(self, call: Call) -> tuple[int, dict[str, Any]]:
        self.service.delete_blueprint(call.path["blueprint"])
        return 200, {"ok": True}

    def list_entities(self, call: Call) -> tuple[int, dict[str, Any]]:
        include, exclude = call.query.getlist("include"), call.query.getlist("exclude")
        return 200, {
            "ok": True,
            "entities": self.service.list_entities(call.path["blueprint"], include, exclude),
        }

    def write_entity(self, call: Call) -> tuple[int, dict[str, Any]]:
        created, entity = self.service.write_entity(
            call.path["blueprint"], call.body, _write_options(call), call.writer
        )
        return (201 if created else 200), {"ok": True, "entity": entity}

    def patch_entity(self, call: Call) -> tuple[int, dict[str, Any]]:
        patch_entity_body(call.body)  # the PATCH body's schema: entity fields only, or 422
        return self._update_entity(call, WriteMode.MERGE)

    def put_entity(self, call: Call) -> tuple[int, dict[str, Any]]:
        return self._update_entity(call, WriteMode.OVERRIDE)

    def _update_entity(self, call: Call, mode: WriteMode) -> tuple[int, dict[str, Any]]:
        blueprint, identifier = call.path["blueprint"], call.path["entity"]
        self.service.get_entity(blueprint, identifier)  # 404 unless it exists
        body = {**call.body, "identifier": identifier} if isinstance(call.body, dict) else call.body
        options = WriteOptions(mode, call.flag("create_missing_related_entities"), nulls_clear=mode is WriteMode.MERGE)
        _created, entity = self.service.write_entity(blueprint, body, options, call.writer)
        return 200, {"ok": True, "entity": entity}

    def count_entities(self, call: Call) -> tuple[int, dict[str, Any]]:
        return 200, {"ok": True, "count": self.service.count_entities(call.path["blueprint"])}

    def bulk_write(self, call: Call) -> tuple[int, dict[str, Any]]:
        return self.service.bulk_write(call.path["blueprint"], call.body, _write_options(call), call.writer)

    def get_entity(self, call: Call) -> tuple[int, dict[str, Any]]:
        entity = self.service.get_entity(call.path["blueprint"], call.path["entity"])
        return 200, {"ok": True, "entity": entity}

    def delete_entity(self, call: Call) -> tuple[int, dict[str, Any]]:
        self.service.delete_entity(call.path["blueprint"], call.path["entity"], call.flag("delete_dependents"))
        return 200, {"ok": True}

    def delete_all(self, call: Call) -> tuple[int, dict[str, Any]]:
        migration = self.service.delete_all_entities(call.path["blueprint"], call.flag("delete_blueprint"))
        return 200, {"ok": True} if migration is None else {"ok": True, "migrationId": migration}

    def bulk_delete(self, call: Call) -> tuple[int, dict[str, Any]]:
        deleted = self.service.bulk_delete(call.path["blueprint"], call.body, call.flag("delete_dependents"))
        return 200, {"ok": True, "deletedEntities": deleted}

    def search(self, call: Call) -> tuple[int, dict[str, Any]]:
        return 200, self.service.search(call.body, call.query.getlist("include"), call.query.getlist("exclude"))

    def search_blueprint(self, call: Call) -> tuple[int, dict[str, Any]]:
        return 200, self.service.search_blueprint(call.path["blueprint"], call.body)


def _write_options(call: Call) -> WriteOptions:
    upsert, merge = call.flag("upsert"), call.flag("merge")
    mode = WriteMode.CREATE if not upsert else WriteMode.MERGE if merge else WriteMode.OVERRIDE
    return WriteOptions(mode, call.flag("create_missing_related_entities"), call.flag("validation_only"))


class _PortRoute:
    """Wraps an operation into a Starlette endpoint with Port's request pipeline."""

    def __init__(self, state: CatalogState) -> None:
        self.state = state

    def __call__(self, operation: Operation) -> Callable[[Request], Awaitable[Response]]:
        return self._endpoint(operation, authenticated=True)

    def public(self, operation: Operation) -> Callable[[Request], Awaitable[Response]]:
        return self._endpoint(operation, authenticated=False)

    def _endpoint(self, operation: Operation, authenticated: bool) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            latency, fault = self.state.faults.draw(is_auth=not authenticated)
            if latency:
                await asyncio.sleep(latency)
            limit = self.state.limiter.hit()
            headers = limit.headers()
            if fault is not None:
                if fault.retry_after is not None:
                    headers["retry-after"] = _seconds(fault.retry_after)
                return _error(CatalogError(fault.status, fault.error, fault.message), headers)
            if not limit.allowed:
                # Port documents only the x-ratelimit-* headers (no Retry-After): the client must
                # read the wait from x-ratelimit-reset, in either of its forms.
                return _error(CatalogError(429, "rate_limited", "rate limit exceeded"), headers)
            started = time.perf_counter()
            try:
                call = await self._call(request, authenticated)
                status, body, operation_seconds = await run_in_threadpool(_timed, operation, call)
            except CatalogError as error:
                return _error(error, headers)
            except sqlite3.OperationalError as error:
                logger.warning("catalog database busy on %s %s: %s", request.method, request.url.path, error)
                return _error(CatalogError(503, "database_busy", str(error)), headers)
            except Exception as error:  # a bug here must still answer in Port's shape, and be logged
                logger.exception("catalog failed on %s %s", request.method, request.url.path)
                return _error(CatalogError(500, "internal_error", f"{type(error).__name__}: {error}"), headers)
            response = JSONResponse(body, status_code=status, headers=headers)
            self.state.stats.record(operation.__name__, operation_seconds, time.perf_counter() - started)
            return response

        return endpoint

    async def _call(self, request: Request, authenticated: bool) -> Call:
        client_id = ""
        if authenticated:
            client_id = self.state.tokens.authenticate(request.headers.get("authorization"))
        limit = self.state.max_body_bytes
        too_large = CatalogError(413, "payload_too_large", f"Request body is too large (limit is {_size(limit)})")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise too_large
        raw = await request.body()
        if len(raw) > limit:
            raise too_large
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError as error:
                raise invalid(f"the body is not valid JSON: {error}") from error
        elif request.method in ("POST", "PUT", "PATCH"):
            raise invalid("this route needs a JSON body")
        writer = Writer(client_id=client_id, user_agent=request.headers.get("user-agent", ""))
        return Call(path=dict(request.path_params), query=request.query_params, body=body, writer=writer)


def _timed(operation: Operation, call: Call) -> tuple[int, dict[str, Any], float]:
    started = time.perf_counter()
    status, body = operation(call)
    return status, body, time.perf_counter() - started


def _control_routes(state: CatalogState) -> list[Route]:
    async def health(_request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def get_faults(_request: Request) -> Response:
        return JSONResponse({"ok": True, "faults": state.faults.status()})

    async def put_faults(request: Request) -> Response:
        try:
            state.faults.set(FaultSettings.from_json(json.loads(await request.body()), state.faults.settings))
        except (ValueError, TypeError) as error:
            return _error(invalid(f"bad fault settings: {error}"), {})
        return JSONResponse({"ok": True, "faults": state.faults.status()})

    async def clear_faults(_request: Request) -> Response:
        state.faults.clear()
        return JSONResponse({"ok": True, "faults": state.faults.status()})

    async def revoke_tokens(_request: Request) -> Response:
        state.tokens.revoke_all()
        return JSONResponse({"ok": True})

    async def get_stats(_request: Request) -> Response:
        return JSONResponse({"ok": True, "stats": state.stats.snapshot()})

    async def clear_stats(_request: Request) -> Response:
        state.stats.clear()
        return JSONResponse({"ok": True})

    async def reset(_request: Request) -> Response:
        await run_in_threadpool(state.service.reset)
        state.faults.clear()
        return JSONResponse({"ok": True})

    return [
        Route("/_local/health", health, methods=["GET"]),
        Route("/_local/faults", get_faults, methods=["GET"]),
        Route("/_local/faults", put_faults, methods=["PUT"]),
        Route("/_local/faults", clear_faults, methods=["DELETE"]),
        Route("/_local/tokens/revoke", revoke_tokens, methods=["POST"]),
        Route("/_local/reset", reset, methods=["POST"]),
        Route("/_local/stats", get_stats, methods=["GET"]),
        Route("/_local/stats", clear_stats, methods=["DELETE"]),
    ]


async def _route_not_found(request: Request, exc: HTTPException) -> Response:
    error = "not_found" if exc.status_code == 404 else "method_not_allowed"
    message = f"no route {request.method} {request.url.path}"
    return _error(CatalogError(exc.status_code, error, message), {})


def _error(error: CatalogError, headers: dict[str, str]) -> Response:
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


def _size(limit: int) -> str:
    return "1MiB" if limit == MAX_BODY_BYTES else f"{limit} bytes"


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"
