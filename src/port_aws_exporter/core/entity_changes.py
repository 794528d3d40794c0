"""Whether upserting a mapped entity (with merge) would change what the catalog holds (pure).

Port's upsert with `merge=true` replaces only the fields it is sent: each property and each
relation sent, and `title`, `icon` and `team` when sent (the client leaves a null one out, so it
keeps what the catalog holds). So an entity is unchanged when every field it sends already holds
that value; a property the mapping sends as null (removed in AWS) over a value is a change.

To keep memory flat, the catalog's entities are not kept: `OwnedDigests` keeps, per identifier,
a short digest of each field group the config's mappings of a blueprint send (`BlueprintShape`),
and a mapped entity is compared with the digests of the same groups. The full sync (to skip
unchanged writes), `--dry-run` (to count creates, updates and unchanged) and the event path all
decide through `OwnedDigests.classify`, one comparison. The event path also fills one from what it
has just written (`record_write`), so that the same entity sent again is not written twice.

    >>> shape = BlueprintShape.of_mappings([EntityMapping(identifier=".n", blueprint="fn", properties={"arn": ".a"})])
    >>> owned = OwnedDigests(shape)
    >>> owned.add({"identifier": "f1", "properties": {"arn": "a1", "handEdited": 1}})
    >>> owned.classify({"identifier": "f1", "properties": {"arn": "a1"}}).name
    'UNCHANGED'
    >>> owned.classify({"identifier": "f1", "properties": {"arn": None}}).name
    'UPDATE'
    >>> owned.classify({"identifier": "f2", "properties": {"arn": "a2"}}).name
    'CREATE'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from port_aws_exporter.core.config import EntityMapping

# The fields Port's merge leaves alone when they are not sent (and the client does not send null).
OPTIONAL_FIELDS = ("title", "icon", "team")
# Bytes of one field group's digest: a collision (a change taken for no change) is a 2**-64 chance.
DIGEST_BYTES = 8
# A group whose value is not known (a write changed part of it): no digest equals it but by that chance.
_UNKNOWN = b"\xff" * DIGEST_BYTES


class EntityChange(Enum):
    """What upserting a mapped entity would do to the catalog."""

    CREATE = "create"  # the installation owns no entity of that identifier
    UPDATE = "update"  # it does, and some field sent differs (or cannot be compared)
    UNCHANGED = "unchanged"  # every field sent already holds that value


@dataclass(frozen=True)
class FieldSet:
    """The properties and relations one mapping sends (every one of them, even when null)."""

    properties: tuple[str, ...]
    relations: tuple[str, ...] | None  # None: the mapping sends no `relations`

    @classmethod
    def of_entity(cls, entity: Mapping[str, Any]) -> FieldSet:
        relations = entity.get("relations")
        return cls(
            tuple(sorted(entity.get("properties") or {})),
            None if relations is None else tuple(sorted(relations)),
        )


@dataclass(frozen=True)
class BlueprintShape:
    """What the config's mappings of one blueprint send: which optional fields, which field sets."""

    optional: tuple[str, ...]
    field_sets: tuple[FieldSet, ...]

    @classmethod
    def of_mappings(cls, mappings: Iterable[EntityMapping]) -> BlueprintShape:
        mappings = list(mappings)
        optional = tuple(name for name in OPTIONAL_FIELDS if any(getattr(m, name) is not None for m in mappings))
        field_sets = {
            FieldSet(tuple(sorted(m.properties)), None if m.relations is None else tuple(sorted(m.relations))): None
            for m in mappings
        }
        return cls(optional, tuple(field_sets))

    def include(self) -> list[str]:
        """The owned-entities search's `include`: meta-properties with Port's `$`, properties and
        relations by their bare identifiers (Port's blueprint search body names them so)."""
        names = ["$identifier", *(f"${name}" for name in self.optional)]
        for field_set in self.field_sets:
            names += [*field_set.properties, *(field_set.relations or ())]
        return list(dict.fromkeys(names))


def shapes_of(mappings: Iterable[EntityMapping]) -> dict[str, BlueprintShape]:
    """The shape of every blueprint the mappings write."""
    by_blueprint: dict[str, list[EntityMapping]] = {}
    for mapping in mappings:
        by_blueprint.setdefault(mapping.blueprint_identifier, []).append(mapping)
    return {blueprint: BlueprintShape.of_mappings(group) for blueprint, group in by_blueprint.items()}


class _NotComparable(Exception):
    """A field is a search query (Port resolves it when written), or the entity has an unknown shape."""


class OwnedDigests:
    """Per identifier, the digests of what the catalog holds in each field group of a blueprint's
    shape; `classify` compares a mapped entity with them. Thread-safe for reads once filled."""

    def __init__(self, shape: BlueprintShape) -> None:
        self.shape = shape
        self._digests: dict[str, bytes] = {}

    def __len__(self) -> int:
        return len(self._digests)

    def __contains__(self, identifier: object) -> bool:
        return identifier in self._digests

    def __iter__(self) -> Iterator[str]:
        """The identifiers held."""
        return iter(self._digests)

    def add(self, current: Mapping[str, Any]) -> None:
        """Remember an entity as the catalog holds it (a search answer: missing fields are unset)."""
        properties = current.get("properties") or {}
        relations = current.get("relations") or {}
        parts = [_optional_value(name, current.get(name)) for name in self.shape.optional]
        for field_set in self.shape.field_sets:
            parts.append(_group_value(field_set, properties, relations))
        self._digests[str(current["identifier"])] = b"".join(_digest(part) for part in parts)

    def forget(self, identifier: str) -> None:
        """No longer claim to know what the catalog holds for `identifier` (deleted, or a write failed)."""
        self._digests.pop(identifier, None)

    def record_write(self, entity: Mapping[str, Any]) -> None:
        """Remember that `entity` was just upserted with merge: each group it sent now holds what it
        sent, a group it did not touch keeps what was known of it, and one it changed in part is
        unknown. An entity that cannot be compared is forgotten."""
        identifier = entity.get("identifier")
        if not isinstance(identifier, str):
            return
        try:
            expected = dict(self._expected(entity))
        except _NotComparable:
            self.forget(identifier)
            return
        held = self._digests.get(identifier)
        groups = len(self.shape.optional) + len(self.shape.field_sets)
        before = [held[n * DIGEST_BYTES : (n + 1) * DIGEST_BYTES] if held else _UNKNOWN for n in range(groups)]
        sent = FieldSet.of_entity(entity)
        sent_properties, sent_relations = set(sent.properties), set(sent.relations or ())
        for offset, field_set in enumerate(self.shape.field_sets):
            position = len(self.shape.optional) + offset
            if position in expected:
                continue
            properties, relations = set(field_set.properties), set(field_set.relations or ())
            if properties <= sent_properties and relations <= sent_relations:
                value = _group_value(field_set, entity.get("properties") or {}, entity.get("relations") or {})
                expected[position] = _digest(value)
            elif properties & sent_properties or relations & sent_relations:
                expected[position] = _UNKNOWN
        self._digests[identifier] = b"".join(expected.get(n, before[n]) for n in range(groups))

    def classify(self, entity: Mapping[str, Any]) -> EntityChange:
        """What upserting `entity` with merge would do to what the catalog holds."""
        identifier = entity.get("identifier")
        if not isinstance(identifier, str):
            return EntityChange.UPDATE  # a search-query identifier names an existing entity
        held = self._digests.get(identifier)
        if held is None:
            return EntityChange.CREATE
        try:
            expected = self._expected(entity)
        except _NotComparable:
            return EntityChange.UPDATE
        for position, digest in expected:
            if held[position * DIGEST_BYTES : (position + 1) * DIGEST_BYTES] != digest:
                return EntityChange.UPDATE
        return EntityChange.UNCHANGED

    def _expected(self, entity: Mapping[str, Any]) -> list[tuple[int, bytes]]:
        """(group position, digest) of each group the entity sends."""
        expected: list[tuple[int, bytes]] = []
        for name in OPTIONAL_FIELDS:
            value = entity.get(name)
            if value is None:
                continue  # not sent: the catalog keeps what it holds
            if name not in self.shape.optional or isinstance(value, dict):
                raise _NotComparable
            expected.append((self.shape.optional.index(name), _digest(_optional_value(name, value))))
        field_set = FieldSet.of_entity(entity)
        if field_set not in self.shape.field_sets:
            raise _NotComparable
        relations = entity.get("relations") or {}
        if any(isinstance(value, dict) for value in relations.values()):
            raise _NotComparable
        value = _group_value(field_set, entity.get("properties") or {}, relations)
        position = len(self.shape.optional) + self.shape.field_sets.index(field_set)
        expected.append((position, _digest(value)))
        return expected


def _optional_value(name: str, value: Any) -> Any:
    if name == "team":
        # Port holds `team` as a list (none: an empty one); a single team is sent as a string.
        return [] if value is None else [value] if isinstance(value, str) else value
    return value


def _group_value(field_set: FieldSet, properties: Mapping[str, Any], relations: Mapping[str, Any]) -> Any:
    values: list[Any] = [[properties.get(name) for name in field_set.properties]]
    if field_set.relations is not None:
        values.append([relations.get(name) for name in field_set.relations])
    return values


def _digest(value: Any) -> bytes:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if ".0" in text or "e+" in text:
        # An integral float may be in it (`128.0`, `1e+16`): digest it as JSON's equality sees it.
        # Without these the walk is skipped: it costs more than the encoding itself.
        text = json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=DIGEST_BYTES).digest()


def _canonical(value: Any) -> Any:
    """JSON's equality: `128` and `128.0` are one number (jq and Port may write either)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    return value
