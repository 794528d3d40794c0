"""The Port REST client: authenticated, pooled, retried, bounded, thread-safe.

One `PortClient` is meant to live as long as its process (a warm Lambda keeps one): it reuses its
token and its connection pool across calls, and several threads may call it at once.

    with PortClient(PortCredentials.from_env(), installation) as port:
        results = port.bulk_upsert("lambda", entities)
        failed = [result for result in results if not result.ok]
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

from port_aws_exporter.core.entity_rules import entity_problems
from port_aws_exporter.core.installation import Installation, anonymous_user_agent
from port_aws_exporter.port.budget import RequestBudget, process_budget
from port_aws_exporter.port.bulk import (
    MAX_BULK_DELETE_IDENTIFIERS,
    EntityWriteResult,
    bulk_body,
    encode_entity,
    entity_body,
    identifier_of,
    map_bulk_response,
    not_sent,
    plan_chunks,
)
from port_aws_exporter.port.counters import ClientCounters
from port_aws_exporter.port.credentials import PortCredentials
from port_aws_exporter.port.errors import PortApiError
from port_aws_exporter.port.retry import RetryPolicy
from port_aws_exporter.port.transport import PortRequest, PortTransport, encode, response_field, response_json

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_PAGE_SIZE = 200


@dataclass(frozen=True)
class BlueprintApplied:
    """The outcome of `apply_blueprint`: the blueprint as Port stores it, and whether it was new."""

    identifier: str
    created: bool
    blueprint: dict[str, Any]


class PortClient:
    """A client of Port's REST API (or of the local catalog, which speaks the same API).

    Retries 429, 5xx, timeouts and connection errors with the one backoff policy of
    `port.retry` (full jitter; `Retry-After` and `x-ratelimit-reset` honoured; retried until
    `retry_budget_seconds` is spent, and at most `max_attempts` times when given), renews its
    token before it expires and once on a 401, and never has more than `max_concurrency` requests
    in flight; and every request waits its turn in a `port.budget.RequestBudget` (by default the
    process's one budget for these credentials, `max_requests_per_minute` of it, else Port's
    published limit: shared by every client of the process). Failures raise
    `PortApiError` (with `.transient`), except in `bulk_upsert`, which reports them per entity.
    """

    def __init__(
        self,
        credentials: PortCredentials,
        installation: Installation | None = None,
        *,
        timeout: float = 30.0,
        max_attempts: int | None = None,
        retry_budget_seconds: float = 60.0,
        max_concurrency: int = 5,
        backoff_base_seconds: float = 0.5,
        backoff_max_seconds: float = 30.0,
        max_requests_per_minute: int | None = None,
        budget: RequestBudget | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.credentials = credentials
        self.installation = installation
        self.user_agent = installation.user_agent if installation else anonymous_user_agent()
        self.timeout = timeout
        self.max_concurrency = max_concurrency
        self.retry_policy = RetryPolicy(
            max_attempts=max_attempts,
            budget_seconds=retry_budget_seconds,
            base_delay_seconds=backoff_base_seconds,
            max_delay_seconds=backoff_max_seconds,
        )
        self.counters = ClientCounters()
        self.budget = budget or process_budget(
            credentials.api_url, credentials.client_id, requests_per_minute=max_requests_per_minute
        )
        self._transport = PortTransport(
            credentials,
            user_agent=self.user_agent,
            timeout=timeout,
            retry_policy=self.retry_policy,
            max_concurrency=max_concurrency,
            counters=self.counters,
            budget=self.budget,
        )
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()
        self._owner = self

    def for_installation(self, installation: Installation) -> PortClient:
        """A client that writes as `installation` (its User-Agent, hence the `$datasource` of what it
        writes) and shares everything else with this one: token, connections, the concurrency bound,
        retries, counters and worker threads. Closing this client closes it too.

        One exporter that serves several accounts writes each account's entities through its own
        view, and every writer stays under one budget of Port requests.
        """
        view = copy.copy(self)
        view.installation = installation
        view.user_agent = installation.user_agent
        view._transport = self._transport.with_user_agent(view.user_agent)
        return view

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> PortClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool and the worker threads (a view of `for_installation` leaves
        them to the client it came from)."""
        if self._owner is not self:
            return
        with self._executor_lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None
        self._transport.close()

    def __repr__(self) -> str:
        return f"PortClient(api_url={self.credentials.api_url!r}, user_agent={self.user_agent!r})"

    # -- entities ----------------------------------------------------------------------------

    def bulk_upsert(
        self,
        blueprint: str,
        entities: Iterable[Mapping[str, Any]],
        *,
        merge: bool = True,
        create_missing_related_entities: bool = False,
    ) -> list[EntityWriteResult]:
        """Create or update entities of one blueprint, 20 (and at most 1 MiB) per request.

        Returns one result per entity, in input order. Never raises for a failed write: a
        request that fails after retries marks each of its entities failed (with `transient`
        telling whether a later retry may succeed). A 413 splits the request in two. Requests
        run concurrently (up to `max_concurrency`), so entities that relate to each other across
        requests should be written in separate calls, targets first.
        """
        entity_list = list(entities)
        identifiers = [identifier_of(entity) for entity in entity_list]
        results: list[EntityWriteResult | None] = [None] * len(entity_list)
        # One entity Port's route schema refuses would fail its whole request: it fails alone here.
        sendable: list[int] = []
        for position, entity in enumerate(entity_list):
            problems = entity_problems(entity_body(entity))
            if problems:
                results[position] = not_sent(identifiers[position], problems)
            else:
                sendable.append(position)
        payloads = [encode_entity(entity_list[position]) for position in sendable]
        planned, too_large = plan_chunks([len(payload) for payload in payloads])
        for index in too_large:
            results[sendable[index]] = _too_large(identifiers[sendable[index]], len(payloads[index]))
        chunks = [[sendable[index] for index in chunk] for chunk in planned]
        payload_at = dict(zip(sendable, payloads, strict=True))
        params = _write_params(merge, create_missing_related_entities)
        path = f"/v1/blueprints/{_segment(blueprint)}/entities/bulk"

        def write(chunk: list[int]) -> list[tuple[int, EntityWriteResult]]:
            return self._write_chunk(path, params, chunk, payload_at, identifiers)

        for written in self._map_concurrently(write, chunks):
            for position, result in written:
                results[position] = result
        return [result for result in results if result is not None]

    def upsert_entity(
        self,
        blueprint: str,
        entity: Mapping[str, Any],
        *,
        merge: bool = True,
        create_missing_related_entities: bool = False,
    ) -> dict[str, Any]:
        """Create or update one entity (`upsert=true&merge=true` by default); returns it as stored.

        Raises `ValueError` without sending when Port's entity schema refuses the entity.
        """
        problems = entity_problems(entity_body(entity))
        if problems:
            raise ValueError(f"entity {identifier_of(entity)}: Port's entity schema refuses it: {'; '.join(problems)}")
        response = self._transport.call(
            PortRequest(
                "POST",
                f"/v1/blueprints/{_segment(blueprint)}/entities",
                "entity_upsert",
                params=_write_params(merge, create_missing_related_entities),
                body=encode_entity(entity),
            )
        )
        return response_field(response, "entity", dict)

    def get_entity(self, blueprint: str, identifier: str) -> dict[str, Any] | None:
        """The entity, or None if Port has no such entity."""
        response = self._transport.call(
            PortRequest("GET", _entity_path(blueprint, identifier), "entity_get", not_found_is_none=True)
        )
        return None if response is None else response_field(response, "entity", dict)

    def delete_entity(self, blueprint: str, identifier: str, delete_dependents: bool = True) -> bool:
        """Delete one entity; False if it was already gone (404)."""
        response = self._transport.call(
            PortRequest(
                "DELETE",
                _entity_path(blueprint, identifier),
                "entity_delete",
                params={"delete_dependents": _flag(delete_dependents)},
                not_found_is_none=True,
            )
        )
        return response is not None

    def bulk_delete(self, blueprint: str, identifiers: Iterable[str], delete_dependents: bool = True) -> list[str]:
        """Delete entities of one blueprint, 100 per request; returns the identifiers Port deleted."""
        unique = list(dict.fromkeys(identifiers))
        chunks = [
            unique[start : start + MAX_BULK_DELETE_IDENTIFIERS]
            for start in range(0, len(unique), MAX_BULK_DELETE_IDENTIFIERS)
        ]
        path = f"/v1/blueprints/{_segment(blueprint)}/bulk/entities/delete"
        params = {"delete_dependents": _flag(delete_dependents)}

        def delete(chunk: list[str]) -> list[str]:
            body = encode({"entities": chunk})
            response = self._transport.call(PortRequest("POST", path, "entity_bulk_delete", params=params, body=body))
            return [str(item) for item in response_field(response, "deletedEntities", list)]

        return [identifier for deleted in self._map_concurrently(delete, chunks) for identifier in deleted]

    def delete_all_entities(self, blueprint: str) -> None:
        """Delete every entity of a blueprint (Port refuses if the blueprint has required relations)."""
        self._transport.call(
            PortRequest("DELETE", f"/v1/blueprints/{_segment(blueprint)}/all-entities", "entity_delete_all")
        )

    def search_entities(
        self,
        query: Mapping[str, Any],
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Entities of any blueprint matching `query` (`{"combinator", "rules"}`)."""
        params: dict[str, Any] = {"exclude_calculated_properties": "true"}
        if include:
            params["include"] = list(include)
        if exclude:
            params["exclude"] = list(exclude)
        response = self._transport.call(
            PortRequest("POST", "/v1/entities/search", "search", params=params, body=encode(query))
        )
        return response_field(response, "entities", list)

    def iter_blueprint_entities(
        self,
        blueprint: str,
        query: Mapping[str, Any] | None = None,
        include: Sequence[str] | None = None,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Entities of one blueprint (matching `query`, if given), fetched page by page."""
        body: dict[str, Any] = {"limit": page_size}
        if query is not None:
            body["query"] = dict(query)
        if include:
            body["include"] = list(include)
        path = f"/v1/blueprints/{_segment(blueprint)}/entities/search"
        while True:
            response = self._transport.call(PortRequest("POST", path, "search_page", body=encode(body)))
            page = response_json(response)
            yield from response_field(response, "entities", list, page)
            next_page = page.get("next")
            if not next_page:
                return
            body["from"] = next_page

    def count_entities(self, blueprint: str) -> int:
        """How many entities the blueprint has (`GET .../entities-count`)."""
        path = f"/v1/blueprints/{_segment(blueprint)}/entities-count"
        return response_field(self._transport.call(PortRequest("GET", path, "entity_count")), "count", int)

    # -- blueprints --------------------------------------------------------------------------

    def get_blueprint(self, identifier: str) -> dict[str, Any] | None:
        """The blueprint, or None if it does not exist."""
        response = self._transport.call(
            PortRequest("GET", f"/v1/blueprints/{_segment(identifier)}", "blueprint", not_found_is_none=True)
        )
        return None if response is None else response_field(response, "blueprint", dict)

    def list_blueprints(self) -> list[dict[str, Any]]:
        """Every blueprint of the organisation."""
        return response_field(
            self._transport.call(PortRequest("GET", "/v1/blueprints", "blueprint")), "blueprints", list
        )

    def create_blueprint(self, blueprint: Mapping[str, Any]) -> dict[str, Any]:
        """Create a blueprint from Port's blueprint JSON; returns it as stored."""
        response = self._transport.call(PortRequest("POST", "/v1/blueprints", "blueprint", body=encode(blueprint)))
        return response_field(response, "blueprint", dict)

    def update_blueprint(self, identifier: str, blueprint: Mapping[str, Any]) -> dict[str, Any]:
        """Replace a blueprint's definition (PUT); returns it as stored."""
        response = self._transport.call(
            PortRequest("PUT", f"/v1/blueprints/{_segment(identifier)}", "blueprint", body=encode(blueprint))
        )
        return response_field(response, "blueprint", dict)

    def apply_blueprint(self, blueprint: Mapping[str, Any]) -> BlueprintApplied:
        """Create the blueprint, or replace it if it exists."""
        identifier = blueprint.get("identifier")
        if not isinstance(identifier, str) or not identifier:
            raise ValueError("a blueprint needs a string 'identifier' to be applied")
        if self.get_blueprint(identifier) is None:
            return BlueprintApplied(identifier, True, self.create_blueprint(blueprint))
        return BlueprintApplied(identifier, False, self.update_blueprint(identifier, blueprint))

    def delete_blueprint(self, identifier: str) -> bool:
        """Delete a blueprint; False if it did not exist."""
        response = self._transport.call(
            PortRequest("DELETE", f"/v1/blueprints/{_segment(identifier)}", "blueprint", not_found_is_none=True)
        )
        return response is not None

    # -- bulk machinery ----------------------------------------------------------------------

    def _write_chunk(
        self,
        path: str,
        params: Mapping[str, str],
        chunk: list[int],
        payloads: Mapping[int, bytes],
        identifiers: Sequence[str],
    ) -> list[tuple[int, EntityWriteResult]]:
        body = bulk_body([payloads[position] for position in chunk])
        chunk_identifiers = [identifiers[position] for position in chunk]
        try:
            response = self._transport.call(
                PortRequest("POST", path, "entity_bulk_upsert", params=params, body=body, accept=(200, 201, 207))
            )
        except PortApiError as error:
            if error.status == 413 and len(chunk) > 1:
                # Port measures the body its own way; halve until each part fits.
                middle = len(chunk) // 2
                return [
                    *self._write_chunk(path, params, chunk[:middle], payloads, identifiers),
                    *self._write_chunk(path, params, chunk[middle:], payloads, identifiers),
                ]
            return [(position, _failed(identifiers[position], error)) for position in chunk]
        assert response is not None  # 404 is not accepted here
        mapped = map_bulk_response(response_json(response), chunk_identifiers, response.status_code)
        return list(zip(chunk, mapped, strict=True))

    def _map_concurrently(self, work: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if len(items) <= 1 or self.max_concurrency == 1:
            return [work(item) for item in items]
        return list(self._pool().map(work, items))

    def _pool(self) -> ThreadPoolExecutor:
        if self._owner is not self:
            return self._owner._pool()
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="port-client")
            return self._executor


def _segment(value: str) -> str:
    # Entity identifiers may contain '/', which must not split the path.
    return quote(value, safe="")


def _entity_path(blueprint: str, identifier: str) -> str:
    return f"/v1/blueprints/{_segment(blueprint)}/entities/{_segment(identifier)}"


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _write_params(merge: bool, create_missing_related_entities: bool) -> dict[str, str]:
    return {
        "upsert": "true",
        "merge": _flag(merge),
        "create_missing_related_entities": _flag(create_missing_related_entities),
    }


def _failed(identifier: str, error: PortApiError) -> EntityWriteResult:
    return EntityWriteResult(
        identifier=identifier,
        ok=False,
        error=error.error or "request_failed",
        message=str(error),
        status=error.status,
        transient=error.transient,
    )


def _too_large(identifier: str, size: int) -> EntityWriteResult:
    return EntityWriteResult(
        identifier=identifier,
        ok=False,
        error="entity_too_large",
        message=f"the entity alone is {size} bytes, over Port's 1 MiB request limit; not sent",
        status=None,
        transient=False,
    )
