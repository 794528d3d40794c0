"""Resource documents → Port entities, with the original exporter's semantics (spec §2.2).

Semantics kept from the original:
- `selector.query` filters resources (jq truthiness: only `false` and `null` filter out);
- every field is the *first* output of its expression (null when it outputs nothing);
- `itemsToParse` makes one entity per item of the array it yields (anything else: none), with the
  item at `.item` merged into the resource;
- `title`, `icon` and `team` are omitted when not mapped; properties are sent even when null;
  `relations` is omitted when the mapping has none;
- a mapping whose identifier comes out empty is an error for that resource and mapping.

For speed, all the mappings of one `resources[]` entry are compiled into a single jq program that
builds every entity of a resource in one run: jq.py pays most of its cost per call (parsing the
input document), not per field. When every expression of an entry is a plain path, concatenation or
default, the entry is evaluated in Python instead (`core.jq.subset`), which is faster still and falls
back to jq whenever it is not certain of jq's answer. When the jq program fails on a resource, a
slow path evaluates mapping by mapping and field by field, so the error names the mapping, the field
and the expression, and the other mappings still map.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from port_aws_exporter.core.config import EntityMapping, ExporterConfig, ResourceConfig
from port_aws_exporter.core.jq.engine import JqError, JqProgram, as_field, compile_program
from port_aws_exporter.core.jq.subset import Evaluator, NotCertain, compile_subset

OPTIONAL_ENTITY_FIELDS = ("title", "icon", "team")


class FetchedDocument(Protocol):
    """A resource as a fetcher gives it (`aws.fetchers.ResourceDocument`): a dict, or its JSON text."""

    @property
    def properties(self) -> dict[str, Any] | None: ...

    @property
    def properties_text(self) -> str | None: ...


@dataclass(frozen=True)
class MappedEntity:
    """A Port entity body (`identifier`, `properties`, … without the blueprint) and its blueprint."""

    blueprint: str
    entity: dict[str, Any]
    mapping_path: str

    @property
    def identifier(self) -> str:
        identifier: str = self.entity["identifier"]
        return identifier

    def as_output(self) -> dict[str, Any]:
        """The entity with its blueprint, as `port-aws-exporter map` prints it."""
        return {"blueprint": self.blueprint, **self.entity}


@dataclass(frozen=True)
class MappingFailure:
    """Why a mapping produced no entity for a resource: where in the config and what went wrong."""

    path: str
    message: str
    expression: str | None = None

    def __str__(self) -> str:
        expression = f" (expression: {self.expression})" if self.expression is not None else ""
        return f"{self.path}: {self.message}{expression}"


@dataclass
class MappingResult:
    """What one resource mapped to."""

    entities: list[MappedEntity] = field(default_factory=list)
    failures: list[MappingFailure] = field(default_factory=list)
    filtered: bool = False


def _entity_program(mapping: EntityMapping) -> str:
    parts = [f'"identifier": {as_field(mapping.identifier)}']
    for name in OPTIONAL_ENTITY_FIELDS:
        expression = getattr(mapping, name)
        if expression is not None:
            parts.append(f"{json.dumps(name)}: {as_field(expression)}")
    properties = ", ".join(f"{json.dumps(k)}: {as_field(v)}" for k, v in mapping.properties.items())
    parts.append(f'"properties": {{{properties}}}')
    if mapping.relations is not None:
        relations = ", ".join(f"{json.dumps(k)}: {as_field(v)}" for k, v in mapping.relations.items())
        parts.append(f'"relations": {{{relations}}}')
    return "{" + ", ".join(parts) + "}"


def _mapping_program(mapping: EntityMapping) -> str:
    """A jq program that outputs the list of entities one mapping makes of a resource."""
    entity = _entity_program(mapping)
    if mapping.items_to_parse is None:
        return f"[{entity}]"
    return (
        f". as $resource | [{as_field(mapping.items_to_parse)} "
        f'| if type == "array" then .[] | $resource + {{"item": .}} | {entity} else empty end]'
    )


EntryEvaluator = Callable[[dict[str, Any]], "list[list[dict[str, Any]]] | None"]


def _compile_all(expressions: dict[str, str]) -> dict[str, Evaluator] | None:
    """Subset evaluators for every expression, or None if one is outside the subset."""
    evaluators = {key: compile_subset(expression) for key, expression in expressions.items()}
    if any(evaluator is None for evaluator in evaluators.values()):
        return None
    return {key: evaluator for key, evaluator in evaluators.items() if evaluator is not None}


def _python_entity_builder(mapping: EntityMapping) -> Callable[[Any], dict[str, Any]] | None:
    """Builds the same entity as `_entity_program`, or None if a field is outside the subset."""
    top = {"identifier": mapping.identifier}
    top.update({name: getattr(mapping, name) for name in OPTIONAL_ENTITY_FIELDS if getattr(mapping, name) is not None})
    top_level = _compile_all(top)
    properties = _compile_all(mapping.properties)
    relations = _compile_all(mapping.relations or {})
    if top_level is None or properties is None or relations is None:
        return None
    has_relations = mapping.relations is not None

    def build(context: Any) -> dict[str, Any]:
        entity = {name: evaluate(context) for name, evaluate in top_level.items()}
        entity["properties"] = {key: evaluate(context) for key, evaluate in properties.items()}
        if has_relations:
            entity["relations"] = {key: evaluate(context) for key, evaluate in relations.items()}
        return entity

    return build


def _python_mapping(mapping: EntityMapping) -> Callable[[dict[str, Any]], list[dict[str, Any]]] | None:
    build = _python_entity_builder(mapping)
    if build is None:
        return None
    if mapping.items_to_parse is None:
        return lambda document: [build(document)]
    items = compile_subset(mapping.items_to_parse)
    if items is None:
        return None

    def each_item(document: dict[str, Any]) -> list[dict[str, Any]]:
        found = items(document)
        return [build({**document, "item": item}) for item in found] if isinstance(found, list) else []

    return each_item


def _python_entry(resource: ResourceConfig) -> EntryEvaluator | None:
    """The whole entry evaluated in Python when every expression is in the subset, else None."""
    selector = compile_subset(resource.selector.query) if resource.selector.query is not None else None
    if resource.selector.query is not None and selector is None:
        return None
    candidates = [_python_mapping(mapping) for mapping in resource.port.entity.mappings]
    mappings = [mapping for mapping in candidates if mapping is not None]
    if len(mappings) != len(candidates):
        return None

    def evaluate(document: dict[str, Any]) -> list[list[dict[str, Any]]] | None:
        if selector is not None and selector(document) in (None, False):
            return None
        return [mapping(document) for mapping in mappings]

    return evaluate


@dataclass(frozen=True)
class _CompiledMapping:
    mapping: EntityMapping
    path: str
    program_text: str

    @property
    def program(self) -> JqProgram:
        return compile_program(self.program_text)


class ResourceMapper:
    """The compiled mappings of one `resources[]` entry of a config.

    >>> from port_aws_exporter.core.config import load_config
    >>> mapping = {"identifier": ".QueueName", "blueprint": "sqs", "properties": {"fifo": ".Fifo // false"}}
    >>> entity = {"mappings": [mapping]}
    >>> config = load_config({"resources": [{"kind": "AWS::SQS::Queue", "port": {"entity": entity}}]})
    >>> [e.as_output() for e in ResourceMapper(config.resources[0], 0).map({"QueueName": "q1"}).entities]
    [{'blueprint': 'sqs', 'identifier': 'q1', 'properties': {'fifo': False}}]
    """

    def __init__(self, resource: ResourceConfig, index: int, *, python_subset: bool = True) -> None:
        self.kind = resource.kind
        self.index = index
        self.path = f"resources[{index}]"
        self._selector = resource.selector.query
        self._mappings = [
            _CompiledMapping(mapping, f"{self.path}.port.entity.mappings[{m}]", _mapping_program(mapping))
            for m, mapping in enumerate(resource.port.entity.mappings)
        ]
        every_mapping = "[" + ", ".join(f"({m.program_text})" for m in self._mappings) + "]"
        if self._selector is not None:
            every_mapping = f"if {as_field(self._selector)} then {every_mapping} else null end"
        self._program = compile_program(every_mapping)
        # Off only to measure or test the jq program alone.
        self._python = _python_entry(resource) if python_subset else None

    @property
    def blueprints(self) -> list[str]:
        """The blueprints this entry writes to, in mapping order, without repeats."""
        return list(dict.fromkeys(m.mapping.blueprint_identifier for m in self._mappings))

    @property
    def evaluated_in_python(self) -> bool:
        """Whether this entry's expressions are all in the subset evaluated without jq."""
        return self._python is not None

    def map(self, document: dict[str, Any]) -> MappingResult:
        """Map one resource document (a dict) to its entities."""
        if self._python is not None:
            try:
                return self._collect(self._python(document))
            except NotCertain:
                pass
        try:
            output = self._program.first(document)
        except JqError:
            return self._map_slowly(document)
        return self._collect(output)

    def map_text(self, text: str) -> MappingResult:
        """Map one resource document given as JSON text (as Cloud Control returns `Properties`)."""
        if self._python is not None:
            return self.map(json.loads(text))
        try:
            output = self._program.first_from_text(text)
        except JqError:
            return self._map_slowly(json.loads(text))
        return self._collect(output)

    def map_document(self, document: FetchedDocument) -> MappingResult:
        """Map a fetched resource: its dict, or its JSON text as the list or the read returned it."""
        if document.properties is not None:
            return self.map(document.properties)
        return self.map_text(document.properties_text or "{}")

    def delete_targets(self, identifier: str) -> list[tuple[str, str]]:
        """(blueprint, identifier) of the entities a delete event for `identifier` removes.

        One per blueprint of the mappings that map the resource itself; `itemsToParse` mappings
        are left out (the original included them), since their identifiers are the items', not
        the resource's.
        """
        blueprints = [m.mapping.blueprint_identifier for m in self._mappings if m.mapping.items_to_parse is None]
        return [(blueprint, identifier) for blueprint in dict.fromkeys(blueprints)]

    def _collect(self, output: list[list[dict[str, Any]]] | None) -> MappingResult:
        if output is None:
            return MappingResult(filtered=True)
        result = MappingResult()
        for compiled, entities in zip(self._mappings, output, strict=True):
            self._accept(compiled, entities, result)
        return result

    def _accept(self, compiled: _CompiledMapping, entities: list[dict[str, Any]], result: MappingResult) -> None:
        blueprint = compiled.mapping.blueprint_identifier
        for entity in entities:
            identifier = entity.get("identifier")
            if isinstance(identifier, int | float) and not isinstance(identifier, bool):
                entity["identifier"] = identifier = str(identifier)
            if not isinstance(identifier, str) or not identifier:
                result.failures.append(
                    MappingFailure(
                        f"{compiled.path}.identifier",
                        f"the identifier evaluated to {json.dumps(identifier)}: it must be a non-empty text",
                        compiled.mapping.identifier,
                    )
                )
                continue
            result.entities.append(MappedEntity(blueprint, entity, compiled.path))

    def _map_slowly(self, document: dict[str, Any]) -> MappingResult:
        if self._selector is not None:
            try:
                if compile_program(as_field(self._selector)).first(document) in (None, False):
                    return MappingResult(filtered=True)
            except JqError as error:
                failure = MappingFailure(f"{self.path}.selector.query", error.message, self._selector)
                return MappingResult(failures=[failure])
        result = MappingResult()
        for compiled in self._mappings:
            try:
                entities = compiled.program.first(document)
            except JqError:
                result.failures.append(_locate_failure(compiled, document))
                continue
            self._accept(compiled, entities, result)
        return result


def _field_expressions(mapping: EntityMapping) -> Iterator[tuple[str, str]]:
    yield "identifier", mapping.identifier
    for name in OPTIONAL_ENTITY_FIELDS:
        expression = getattr(mapping, name)
        if expression is not None:
            yield name, expression
    for key, expression in mapping.properties.items():
        yield f"properties.{key}", expression
    for key, expression in (mapping.relations or {}).items():
        yield f"relations.{key}", expression


def _locate_failure(compiled: _CompiledMapping, document: dict[str, Any]) -> MappingFailure:
    """Which field of a failing mapping raised, and jq's message, for the first failing item."""
    mapping = compiled.mapping
    contexts: list[dict[str, Any]] = [document]
    if mapping.items_to_parse is not None:
        try:
            items = compile_program(as_field(mapping.items_to_parse)).first(document)
        except JqError as error:
            return MappingFailure(f"{compiled.path}.itemsToParse", error.message, mapping.items_to_parse)
        contexts = [{**document, "item": item} for item in items] if isinstance(items, list) else []
    for context in contexts:
        for name, expression in _field_expressions(mapping):
            try:
                compile_program(as_field(expression)).first(context)
            except JqError as error:
                return MappingFailure(f"{compiled.path}.{name}", error.message, expression)
    return MappingFailure(compiled.path, "the mapping failed on this resource")


def build_mappers(config: ExporterConfig) -> list[ResourceMapper]:
    """One mapper per `resources[]` entry, in config order."""
    return [ResourceMapper(resource, index) for index, resource in enumerate(config.resources)]


def mappers_for_kind(mappers: Iterable[ResourceMapper], kind: str) -> list[ResourceMapper]:
    """The mappers of every config entry of `kind` (a kind may have several)."""
    return [mapper for mapper in mappers if mapper.kind == kind]
