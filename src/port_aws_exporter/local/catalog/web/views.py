"""What each page shows, read from the catalog database (no HTML here: the templates render it).

Every filter becomes a Port search query (`core.entity_filter`, `core.installation`) evaluated by
the catalog's own search (`local.catalog.search`), the code behind `POST .../entities/search`: a
filter on the page selects exactly what the same query selects through the API.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from port_aws_exporter.core.entity_filter import FilterError, all_of, filter_query
from port_aws_exporter.core.installation import Installation, installation_of, installations_rules
from port_aws_exporter.local.catalog import store
from port_aws_exporter.local.catalog.errors import invalid
from port_aws_exporter.local.catalog.search import Predicate, compile_query, sql_prefilter

MAX_KEY_PROPERTIES = 4
MAX_RELATION_COLUMNS = 2
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
SEARCH_RESULTS_SHOWN = 200
LINKS_SHOWN_PER_RELATION = 100
SORTS = {"identifier": "Identifier", "-updatedAt": "Recently updated"}
_SCALAR_TYPES = frozenset({"string", "number", "boolean"})


@dataclass(frozen=True)
class BlueprintSummary:
    """A blueprint on the front page."""

    identifier: str
    title: str
    icon: str
    description: str
    count: int
    relations: list[tuple[str, str]]  # (relation title, target blueprint)


def blueprint_summaries(connection: sqlite3.Connection) -> list[BlueprintSummary]:
    """Every blueprint with its entity count, by title."""
    summaries = [
        BlueprintSummary(
            identifier=blueprint["identifier"],
            title=_title(blueprint),
            icon=str(blueprint.get("icon") or ""),
            description=str(blueprint.get("description") or ""),
            count=store.count_entities(connection, blueprint["identifier"]),
            relations=[
                (str(relation.get("title") or name), str(relation["target"]))
                for name, relation in (blueprint.get("relations") or {}).items()
            ],
        )
        for blueprint in store.load_blueprints(connection)
    ]
    return sorted(summaries, key=lambda summary: (summary.title.lower(), summary.identifier))


@dataclass(frozen=True)
class Column:
    """A column of a blueprint's table besides identifier, title and updated."""

    name: str
    title: str
    relation: bool
    definition: Mapping[str, Any]


def table_columns(blueprint: Mapping[str, Any]) -> list[Column]:
    """The blueprint's key properties, then its single-valued relations.

    Key properties are the scalar ones (text, number, yes/no) in the blueprint's order, leaving out
    links and the resource's own ARN or id: long, and the row names the entity already. Lists,
    objects, links and ids are on the entity's page.
    """
    properties = (blueprint.get("schema") or {}).get("properties") or {}
    keys = [
        Column(name, str(definition.get("title") or name), False, definition)
        for name, definition in properties.items()
        if isinstance(definition, Mapping)
        and definition.get("type") in _SCALAR_TYPES
        and definition.get("format") != "url"
        and not _names_the_resource(name)
    ]
    relations = [
        Column(name, str(relation.get("title") or name), True, relation)
        for name, relation in (blueprint.get("relations") or {}).items()
        if not relation.get("many")
    ]
    return keys[:MAX_KEY_PROPERTIES] + relations[:MAX_RELATION_COLUMNS]


def _names_the_resource(name: str) -> bool:
    return name in ("arn", "id") or name.endswith(("Arn", "Id"))


@dataclass(frozen=True)
class TableRequest:
    """What the reader asked of a blueprint's table (the page's query string)."""

    text: str = ""
    account: str = ""
    region: str = ""
    page: int = 1
    limit: int = DEFAULT_PAGE_SIZE
    sort: str = "identifier"

    @property
    def filtered(self) -> bool:
        return bool(self.text.strip() or self.account or self.region)

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> TableRequest:
        """The request, or a 422 `CatalogError` naming the parameter that is wrong."""
        page = _whole_number(params, "page", 1, 1, 10**9)
        limit = _whole_number(params, "limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        sort = params.get("sort") or "identifier"
        if sort not in SORTS:
            raise invalid(f"sort must be one of {', '.join(SORTS)}, got {sort!r}")
        return cls(
            text=params.get("q", ""),
            account=params.get("account", ""),
            region=params.get("region", ""),
            page=page,
            limit=limit,
            sort=sort,
        )

    def params(self, **changes: Any) -> dict[str, str]:
        """Query parameters for a link to this table with `changes` (defaults left out)."""
        values = {
            "q": self.text,
            "account": self.account,
            "region": self.region,
            "sort": self.sort,
            "limit": self.limit,
            "page": self.page,
        }
        values.update(changes)
        defaults = {"sort": "identifier", "limit": DEFAULT_PAGE_SIZE, "page": 1}
        return {key: str(value) for key, value in values.items() if value not in ("", None, defaults.get(key))}


def _whole_number(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = params.get(name)
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise invalid(f"{name} must be a whole number from {low} to {high}, got {text!r}")
    return int(text)


@dataclass(frozen=True)
class Sources:
    """Who wrote a blueprint's entities: exporter installations' accounts and regions, and others."""

    accounts: list[str]
    regions: list[str]
    other_writers: int  # entities not written by an exporter installation

    @property
    def several(self) -> bool:
        return len(self.accounts) > 1 or len(self.regions) > 1 or (self.other_writers > 0 and bool(self.accounts))


@dataclass(frozen=True)
class EntityTable:
    """One page of a blueprint's table."""

    blueprint: dict[str, Any]
    columns: list[Column]
    rows: list[dict[str, Any]]
    request: TableRequest
    matched: int
    total: int
    sources: Sources
    titles: dict[tuple[str, str], str] = field(default_factory=dict)  # (blueprint, id) -> title

    @property
    def pages(self) -> int:
        return max(1, -(-self.matched // self.request.limit))

    @property
    def first(self) -> int:
        return 0 if not self.rows else (self.request.page - 1) * self.request.limit + 1

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def entity_table(connection: sqlite3.Connection, identifier: str, request: TableRequest) -> EntityTable | None:
    """A page of the blueprint's entities that match the request; None if there is no such blueprint."""
    blueprint = store.load_blueprint(connection, identifier)
    if blueprint is None:
        return None
    query = all_of(
        {"combinator": "and", "rules": [{"property": "$blueprint", "operator": "=", "value": identifier}]},
        _filter_query(request.text, [blueprint]),
        {"combinator": "and", "rules": installations_rules(request.account, request.region)}
        if request.account or request.region
        else {"combinator": "and", "rules": []},
    )
    start = (request.page - 1) * request.limit
    total = store.count_entities(connection, identifier)
    if request.filtered:
        matches = _matching(connection, query, blueprint=identifier)
        if request.sort == "-updatedAt":
            matches.sort(key=lambda entity: str(entity.get("updatedAt") or ""), reverse=True)
        rows, matched = matches[start : start + request.limit], len(matches)
    else:  # every entity matches: read only the page's rows
        rows, matched = _unfiltered_page(connection, identifier, request.sort, start, request.limit), total
    columns = table_columns(blueprint)
    return EntityTable(
        blueprint=blueprint,
        columns=columns,
        rows=rows,
        request=request,
        matched=matched,
        total=total,
        sources=_sources(connection, identifier),
        titles=_related_titles(connection, blueprint, columns, rows),
    )


def _filter_query(text: str, blueprints: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    try:
        return filter_query(text, blueprints)
    except FilterError as error:
        raise invalid(str(error)) from error


def _matching(
    connection: sqlite3.Connection, query: dict[str, Any], blueprint: str | None = None
) -> list[dict[str, Any]]:
    predicate: Predicate = compile_query(query, "filter")
    rows = store.scan_entities(connection, sql_prefilter(query), blueprint=blueprint)
    return [entity for entity in rows if predicate(entity)]


_PAGE_ORDER = {
    "identifier": "identifier",
    "-updatedAt": "json_extract(body, '$.updatedAt') DESC, identifier",
}


def _unfiltered_page(
    connection: sqlite3.Connection, blueprint: str, sort: str, start: int, limit: int
) -> list[dict[str, Any]]:
    # Which identifiers are on the page, from the store's table, so that only those are decoded.
    rows = connection.execute(
        f"SELECT identifier FROM entities WHERE blueprint = ? ORDER BY {_PAGE_ORDER[sort]} LIMIT ? OFFSET ?",
        (blueprint, limit, start),
    ).fetchall()
    entities = (store.load_entity(connection, blueprint, str(identifier)) for (identifier,) in rows)
    return [entity for entity in entities if entity is not None]


def _sources(connection: sqlite3.Connection, blueprint: str) -> Sources:
    # The store keeps `$datasource` in a column of its own; one grouped read gives every writer.
    rows = connection.execute(
        "SELECT datasource, count(*) FROM entities WHERE blueprint = ? GROUP BY datasource", (blueprint,)
    ).fetchall()
    accounts: set[str] = set()
    regions: set[str] = set()
    others = 0
    for datasource, count in rows:
        installation = installation_of(str(datasource))
        if installation is None:
            others += int(count)
        else:
            accounts.add(installation.account_id)
            regions.add(installation.region)
    return Sources(sorted(accounts), sorted(regions), others)


def _related_titles(
    connection: sqlite3.Connection,
    blueprint: Mapping[str, Any],
    columns: list[Column],
    rows: list[dict[str, Any]],
) -> dict[tuple[str, str], str]:
    titles: dict[tuple[str, str], str] = {}
    for column in columns:
        if not column.relation:
            continue
        target = str(column.definition["target"])
        for entity in rows:
            for identifier in _targets((entity.get("relations") or {}).get(column.name)):
                related = store.load_entity(connection, target, identifier)
                if related is not None:
                    titles[(target, identifier)] = str(related.get("title") or identifier)
    return titles


@dataclass(frozen=True)
class Link:
    """An entity a relation names; `title` is None when the catalog has no such entity."""

    blueprint: str
    identifier: str
    title: str | None


@dataclass(frozen=True)
class RelationGroup:
    """The entities one relation links, in one direction."""

    relation: str
    title: str
    blueprint: str  # the other side's blueprint
    blueprint_title: str
    many: bool
    links: list[Link]
    more: int = 0  # links not shown


@dataclass(frozen=True)
class PropertyRow:
    name: str
    title: str
    value: Any
    definition: Mapping[str, Any]


@dataclass(frozen=True)
class EntityView:
    """An entity's page."""

    blueprint: dict[str, Any]
    entity: dict[str, Any]
    properties: list[PropertyRow]
    outgoing: list[RelationGroup]
    incoming: list[RelationGroup]
    installation: Installation | None

    @property
    def datasource(self) -> str:
        return str(self.entity.get("$datasource") or "")

    @property
    def as_json(self) -> str:
        """The entity as the API returns it."""
        public = {key: value for key, value in self.entity.items() if not key.startswith("$")}
        return json.dumps(public, indent=2, ensure_ascii=False)


def entity_view(connection: sqlite3.Connection, blueprint_id: str, identifier: str) -> EntityView | None:
    """The entity with its properties and its relations both ways; None if either is missing."""
    blueprint = store.load_blueprint(connection, blueprint_id)
    entity = store.load_entity(connection, blueprint_id, identifier) if blueprint is not None else None
    if blueprint is None or entity is None:
        return None
    return EntityView(
        blueprint=blueprint,
        entity=entity,
        properties=_property_rows(blueprint, entity),
        outgoing=_outgoing(connection, blueprint, entity),
        incoming=_incoming(connection, blueprint_id, identifier),
        installation=installation_of(str(entity.get("$datasource") or "")),
    )


def _property_rows(blueprint: Mapping[str, Any], entity: Mapping[str, Any]) -> list[PropertyRow]:
    definitions = (blueprint.get("schema") or {}).get("properties") or {}
    values = entity.get("properties") or {}
    names = [*definitions, *(name for name in values if name not in definitions)]
    return [
        PropertyRow(
            name, str((definitions.get(name) or {}).get("title") or name), values.get(name), definitions.get(name) or {}
        )
        for name in names
    ]


def _outgoing(
    connection: sqlite3.Connection, blueprint: Mapping[str, Any], entity: Mapping[str, Any]
) -> list[RelationGroup]:
    groups = []
    values = entity.get("relations") or {}
    for name, relation in (blueprint.get("relations") or {}).items():
        target = str(relation["target"])
        identifiers = _targets(values.get(name))
        links = [_link(connection, target, identifier) for identifier in identifiers[:LINKS_SHOWN_PER_RELATION]]
        groups.append(
            RelationGroup(
                relation=name,
                title=str(relation.get("title") or name),
                blueprint=target,
                blueprint_title=_blueprint_title(connection, target),
                many=bool(relation.get("many")),
                links=links,
                more=max(0, len(identifiers) - LINKS_SHOWN_PER_RELATION),
            )
        )
    return groups


def _incoming(connection: sqlite3.Connection, blueprint: str, identifier: str) -> list[RelationGroup]:
    sources: dict[tuple[str, str], list[str]] = defaultdict(list)
    for source_blueprint, source, relation in store.dependents_of(connection, blueprint, identifier):
        sources[(source_blueprint, relation)].append(source)
    groups = []
    for (source_blueprint, relation), identifiers in sorted(sources.items()):
        definition = store.load_blueprint(connection, source_blueprint) or {}
        relation_definition = (definition.get("relations") or {}).get(relation) or {}
        groups.append(
            RelationGroup(
                relation=relation,
                title=str(relation_definition.get("title") or relation),
                blueprint=source_blueprint,
                blueprint_title=_title(definition) if definition else source_blueprint,
                many=True,
                links=[
                    _link(connection, source_blueprint, source) for source in identifiers[:LINKS_SHOWN_PER_RELATION]
                ],
                more=max(0, len(identifiers) - LINKS_SHOWN_PER_RELATION),
            )
        )
    return sorted(groups, key=lambda group: (group.blueprint_title.lower(), group.title.lower()))


def _link(connection: sqlite3.Connection, blueprint: str, identifier: str) -> Link:
    related = store.load_entity(connection, blueprint, identifier)
    return Link(blueprint, identifier, None if related is None else str(related.get("title") or identifier))


def _targets(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


def _blueprint_title(connection: sqlite3.Connection, identifier: str) -> str:
    blueprint = store.load_blueprint(connection, identifier)
    return identifier if blueprint is None else _title(blueprint)


def _title(blueprint: Mapping[str, Any]) -> str:
    return str(blueprint.get("title") or blueprint["identifier"])


@dataclass(frozen=True)
class SearchGroup:
    blueprint: str
    title: str
    entities: list[dict[str, Any]]


@dataclass(frozen=True)
class SearchResults:
    """Entities of every blueprint that match what was typed in the search box."""

    text: str
    groups: list[SearchGroup]
    matched: int
    shown: int


def search_entities(connection: sqlite3.Connection, text: str) -> SearchResults:
    """The matches of `text` (words, or a query in Port's JSON) across blueprints, grouped by blueprint."""
    blueprints = store.load_blueprints(connection)
    matches = _matching(connection, _filter_query(text, blueprints)) if text.strip() else []
    shown = matches[:SEARCH_RESULTS_SHOWN]
    titles = {blueprint["identifier"]: _title(blueprint) for blueprint in blueprints}
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entity in shown:
        grouped[entity["blueprint"]].append(entity)
    groups = [
        SearchGroup(identifier, titles.get(identifier, identifier), entities)
        for identifier, entities in sorted(grouped.items(), key=lambda item: titles.get(item[0], item[0]).lower())
    ]
    return SearchResults(text, groups, len(matches), len(shown))
