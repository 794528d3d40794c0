"""Bulk upsert planning and result mapping (pure: no I/O).

Port's bulk route takes at most 20 entities of one blueprint and a body of at most 1 MiB, and
answers 200 or 207 with per-entity `entities[]` (successes) and `errors[]` (failures), both keyed
by `index`, the entity's position in the request. These helpers cut a list of entities into
requests that fit and map each answer back to the caller's positions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MAX_BULK_ENTITIES = 20
MAX_BODY_BYTES = 1024 * 1024
MAX_BULK_DELETE_IDENTIFIERS = 100

_ENVELOPE_PREFIX = b'{"entities":['
_ENVELOPE_SUFFIX = b"]}"


@dataclass(frozen=True)
class EntityWriteResult:
    """What happened to one entity of a bulk upsert.

    `error` is Port's error code (or the client's: `connection_error`, `entity_too_large`,
    `missing_result`), `message` its text, `status` the HTTP status that carried it, and
    `transient` whether writing the same entity again later may succeed.
    """

    identifier: str
    ok: bool
    error: str | None = None
    message: str | None = None
    status: int | None = None
    transient: bool = False


# Port's write routes take these as strings (or, for `team`, a list or a query), never null: a
# mapping whose title came out null means "no title", which Port's schema says by leaving it out.
_OMITTED_WHEN_NULL = ("title", "icon", "team")


def entity_body(entity: Mapping[str, Any]) -> dict[str, Any]:
    """The entity as sent to Port: without the `blueprint` key (it is in the URL) and without a
    null `title`, `icon` or `team` (Port's write routes refuse nulls there)."""
    return {
        key: value
        for key, value in entity.items()
        if key != "blueprint" and not (key in _OMITTED_WHEN_NULL and value is None)
    }


def encode_entity(entity: Mapping[str, Any]) -> bytes:
    """`entity_body` as compact JSON."""
    return json.dumps(entity_body(entity), separators=(",", ":"), ensure_ascii=False).encode()


def not_sent(identifier: str, problems: Sequence[str]) -> EntityWriteResult:
    """The result of an entity the client did not send because Port's route schema refuses it
    (sent, it would fail the whole bulk request with a 422)."""
    return EntityWriteResult(
        identifier=identifier,
        ok=False,
        error="invalid_entity",
        message="not sent: Port's entity schema refuses it: " + "; ".join(problems),
        status=None,
        transient=False,
    )


def bulk_body(payloads: Sequence[bytes]) -> bytes:
    """The request body `{"entities": [...]}` from already encoded entities."""
    return _ENVELOPE_PREFIX + b",".join(payloads) + _ENVELOPE_SUFFIX


def body_size(payload_sizes: Sequence[int]) -> int:
    """Size in bytes of `bulk_body` for payloads of these sizes."""
    separators = max(len(payload_sizes) - 1, 0)
    return len(_ENVELOPE_PREFIX) + len(_ENVELOPE_SUFFIX) + sum(payload_sizes) + separators


def plan_chunks(
    sizes: Sequence[int], *, max_entities: int = MAX_BULK_ENTITIES, max_bytes: int = MAX_BODY_BYTES
) -> tuple[list[list[int]], list[int]]:
    """Split positions `0..len(sizes)-1` into requests of at most `max_entities` and `max_bytes`.

    Returns `(chunks, too_large)`: `too_large` are the positions of entities that do not fit in a
    request even alone; they are never sent.
    """
    chunks: list[list[int]] = []
    too_large: list[int] = []
    current: list[int] = []
    current_sizes: list[int] = []
    for position, size in enumerate(sizes):
        if body_size([size]) > max_bytes:
            too_large.append(position)
            continue
        if current and (len(current) >= max_entities or body_size([*current_sizes, size]) > max_bytes):
            chunks.append(current)
            current, current_sizes = [], []
        current.append(position)
        current_sizes.append(size)
    if current:
        chunks.append(current)
    return chunks, too_large


def map_bulk_response(body: Mapping[str, Any], identifiers: Sequence[str], status: int) -> list[EntityWriteResult]:
    """One result per entity of the request, in request order, from a 200/207 body.

    An entity that the answer neither reports written nor failed is reported failed
    (`missing_result`): nothing is claimed written that Port did not confirm.
    """
    results: dict[int, EntityWriteResult] = {}
    for item in body.get("entities") or []:
        index = item.get("index")
        if isinstance(index, int) and 0 <= index < len(identifiers):
            results[index] = EntityWriteResult(identifier=identifiers[index], ok=True)
    for item in body.get("errors") or []:
        index = item.get("index")
        if isinstance(index, int) and 0 <= index < len(identifiers):
            item_status = item.get("statusCode")
            status_code = item_status if isinstance(item_status, int) else status
            results[index] = EntityWriteResult(
                identifier=identifiers[index],
                ok=False,
                error=str(item.get("error") or "unknown_error"),
                message=str(item.get("message") or ""),
                status=status_code,
                transient=status_code == 429 or status_code >= 500,
            )
    return [results.get(index) or _unreported(identifier, status) for index, identifier in enumerate(identifiers)]


def _unreported(identifier: str, status: int) -> EntityWriteResult:
    return EntityWriteResult(
        identifier=identifier,
        ok=False,
        error="missing_result",
        message=f"Port's HTTP {status} answer did not report this entity",
        status=status,
        transient=True,
    )


def identifier_of(entity: Mapping[str, Any]) -> str:
    """The entity's identifier as text, for results and errors (Port also accepts a query object)."""
    identifier = entity.get("identifier")
    return identifier if isinstance(identifier, str) else json.dumps(identifier, sort_keys=True)
