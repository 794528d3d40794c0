"""`port-aws-exporter catalog ...`: serve the local catalog (its API and web page), list and get
entities, list and apply blueprints.

`list`, `get` and `blueprints list|apply` work on a catalog database directly (`--db`) or over the
API (`--url`, authenticating with `PORT_CLIENT_ID`/`PORT_CLIENT_SECRET`), so they work against Port
itself too. `list --filter` reads a filter as the catalog page does (`core.entity_filter`) and
hands it to the catalog's search. The reading commands open `--db` read-only
(`_open_target(..., read_only=True)`): they never create or change a database, and a file that is
not one is a clear error.
"""

from __future__ import annotations

import itertools
import json
import signal
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Protocol, TypeVar

import click

from port_aws_exporter.core.entity_filter import MATCH_ALL, FilterError, filter_query
from port_aws_exporter.core.installation import anonymous_user_agent

T = TypeVar("T")


class BlueprintTarget(Protocol):
    """Where blueprints are applied and entities read: a database or an API."""

    def apply(self, blueprint: dict[str, Any]) -> bool:
        """Create or replace the blueprint; True if it was created."""

    def blueprints(self) -> list[dict[str, Any]]:
        """Every blueprint."""

    def blueprint(self, identifier: str) -> dict[str, Any] | None:
        """The blueprint, or None."""

    def count(self, blueprint: str) -> int:
        """How many entities the blueprint has."""

    def entities(self, blueprint: str, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The blueprint's entities that match a Port search query, as the search answers them."""

    def entity(self, blueprint: str, identifier: str) -> dict[str, Any] | None:
        """The entity, or None."""

    def write(self, blueprint: str, entities: list[dict[str, Any]]) -> list[str]:
        """Create or merge the entities; one error text per entity that was not written."""


@dataclass(frozen=True)
class ApplyOutcome:
    """What `apply_blueprint_files` did with one file."""

    source: str
    identifier: str | None
    created: bool | None
    error: str | None


@click.group("catalog")
def catalog_group() -> None:
    """Serve a local Port-compatible catalog; list entities and apply blueprints (local or Port)."""


@catalog_group.command("serve")
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("catalog.db"),
    show_default=True,
    help="SQLite database; kept across restarts.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=0, show_default=True, help="0: a free port picked by the OS.")
@click.option("--client-id", envvar="PORT_CLIENT_ID", help="Default: $PORT_CLIENT_ID.")
@click.option("--client-secret", envvar="PORT_CLIENT_SECRET", help="Default: $PORT_CLIENT_SECRET.")
@click.option("--token-ttl", type=float, default=3 * 3600.0, show_default=True, help="Token lifetime (s).")
@click.option("--faults", "faults_json", help="Fault injection, e.g. '{\"throttle_rate\": 0.3}'.")
def serve_command(
    *,
    db_path: Path,
    host: str,
    port: int,
    client_id: str | None,
    client_secret: str | None,
    token_ttl: float,
    faults_json: str | None,
) -> None:
    """Serve the catalog until SIGINT/SIGTERM. The first stdout line is its base URL."""
    from port_aws_exporter.local.catalog import start_catalog

    if not client_id or not client_secret:
        raise click.UsageError(
            "the catalog needs credentials: pass --client-id and --client-secret "
            "or set PORT_CLIENT_ID and PORT_CLIENT_SECRET"
        )
    faults = _parse_json_option("--faults", faults_json) if faults_json else None
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        catalog = start_catalog(
            db_path,
            host=host,
            port=port,
            client_id=client_id,
            client_secret=client_secret,
            token_ttl_seconds=token_ttl,
            faults=faults,
        )
    except (OSError, ValueError) as error:
        raise click.ClickException(f"cannot start the catalog: {error}") from error
    except sqlite3.DatabaseError as error:  # the file is there, but is not SQLite (or is locked)
        raise click.ClickException(
            f"cannot start the catalog: {db_path} is not a catalog database (SQLite: {error})"
        ) from error
    with catalog:
        click.echo(catalog.url)
        sys.stdout.flush()
        click.echo(
            f"local catalog serving {db_path} at {catalog.url} (its page: {catalog.url}/, faults: "
            f"{catalog.url}/_local/faults); Ctrl-C to stop",
            err=True,
        )
        stop.wait()
    click.echo("local catalog stopped", err=True)


@catalog_group.command("list")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), help="Catalog database.")
@click.option("--url", help="Port API base URL (also $PORT_API_URL); uses PORT_CLIENT_ID/SECRET.")
@click.option("--blueprint", help="Only entities of this blueprint.")
@click.option(
    "--filter",
    "filter_text",
    help="Only matching entities: words (in the identifier, title or a text property), or a Port search "
    "query (or one rule) as JSON. The catalog page's filter reads it the same way.",
)
@click.option("--limit", type=click.IntRange(1), help="At most this many entities.")
@click.option("--json", "as_json", is_flag=True, help="Print the entities as Port returns them.")
def list_command(
    db_path: Path | None,
    url: str | None,
    blueprint: str | None,
    filter_text: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """List the entities of a catalog (by blueprint, then identifier)."""
    with _open_target(db_path, url, read_only=True) as target:
        entities = _guarded(lambda: list_entities(target, blueprint, filter_text, limit))
    if as_json:
        click.echo(json.dumps(entities, indent=2, ensure_ascii=False))
        return
    limited = limit is not None and len(entities) == limit
    _print_table(entities, f"the first {limit} entities" if limited else f"{len(entities)} entities")


def list_entities(
    target: BlueprintTarget, blueprint: str | None, filter_text: str | None, limit: int | None
) -> list[dict[str, Any]]:
    """The entities of one blueprint (or of all) that match the filter, at most `limit` of them."""
    if blueprint is None:
        definitions = sorted(target.blueprints(), key=lambda definition: str(definition["identifier"]))
    else:
        definition = target.blueprint(blueprint)
        if definition is None:
            raise click.ClickException(f"the catalog has no blueprint {blueprint!r}")
        definitions = [definition]

    def matching(definition: dict[str, Any]) -> Iterator[dict[str, Any]]:
        try:
            query = filter_query(filter_text or "", [definition])
        except FilterError as error:
            raise click.BadParameter(str(error), param_hint="--filter") from error
        return target.entities(str(definition["identifier"]), query)

    found: Iterable[dict[str, Any]] = itertools.chain.from_iterable(map(matching, definitions))
    return list(itertools.islice(found, limit))


@catalog_group.command("get")
@click.argument("blueprint")
@click.argument("identifier")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), help="Catalog database.")
@click.option("--url", help="Port API base URL (also $PORT_API_URL); uses PORT_CLIENT_ID/SECRET.")
@click.option("--json", "as_json", is_flag=True, help="Print the entity as Port returns it.")
def get_command(blueprint: str, identifier: str, db_path: Path | None, url: str | None, as_json: bool) -> None:
    """Show one entity: its properties, relations, $datasource (with --db) and timestamps."""
    with _open_target(db_path, url, read_only=True) as target:
        if _guarded(lambda: target.blueprint(blueprint)) is None:
            raise click.ClickException(f"the catalog has no blueprint {blueprint!r}")
        entity = _guarded(lambda: target.entity(blueprint, identifier))
    if entity is None:
        raise click.ClickException(f"blueprint {blueprint!r} has no entity {identifier!r}")
    if as_json:
        public = {key: value for key, value in entity.items() if not key.startswith("$")}
        click.echo(json.dumps(public, indent=2, ensure_ascii=False))
        return
    _print_entity(entity)


@catalog_group.group("entities")
def entities_group() -> None:
    """Write entities."""


@entities_group.command("apply")
@click.argument("blueprint")
@click.argument("entities_file", metavar="FILE", type=click.File("r"))
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), help="Catalog database.")
@click.option("--url", help="Port API base URL (also $PORT_API_URL); uses PORT_CLIENT_ID/SECRET.")
def apply_entities_command(blueprint: str, entities_file: Any, db_path: Path | None, url: str | None) -> None:
    """Create or update (merge) the entities of BLUEPRINT listed in FILE (a JSON list of Port
    entities, - for stdin), such as the region entities the example blueprints relate to."""
    from port_aws_exporter.cli.inputs import input_name, read_json

    entities = read_json(entities_file)
    if not isinstance(entities, list) or not all(isinstance(entity, dict) for entity in entities):
        raise click.ClickException(f"{input_name(entities_file)} must hold a JSON list of entities (objects)")
    with _open_target(db_path, url, read_only=False) as target:
        failures = _guarded(lambda: target.write(blueprint, entities))
    for failure in failures:
        click.echo(f"FAILED  {failure}", err=True)
    if failures:
        raise click.ClickException(f"{len(failures)} of {len(entities)} entities of {blueprint} were not written")
    click.echo(f"wrote {len(entities)} entities of {blueprint}")


@catalog_group.group("blueprints")
def blueprints_group() -> None:
    """Manage blueprints."""


@blueprints_group.command("list")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), help="Catalog database.")
@click.option("--url", help="Port API base URL (also $PORT_API_URL); uses PORT_CLIENT_ID/SECRET.")
@click.option("--json", "as_json", is_flag=True, help="Print the blueprints as Port returns them.")
def list_blueprints_command(db_path: Path | None, url: str | None, as_json: bool) -> None:
    """List the blueprints of a catalog, with their entity counts and relations."""
    with _open_target(db_path, url, read_only=True) as target:
        blueprints = sorted(_guarded(target.blueprints), key=lambda blueprint: str(blueprint["identifier"]))
        if as_json:
            click.echo(json.dumps(blueprints, indent=2, ensure_ascii=False))
            return
        counts = _guarded(lambda: {str(b["identifier"]): target.count(str(b["identifier"])) for b in blueprints})
    _print_blueprints(blueprints, counts)


@blueprints_group.command("apply")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), help="Catalog database.")
@click.option("--url", help="Port API base URL (also $PORT_API_URL); uses PORT_CLIENT_ID/SECRET.")
def apply_command(files: tuple[Path, ...], db_path: Path | None, url: str | None) -> None:
    """Create or update blueprints from Port blueprint JSON files (relation targets first)."""
    with _open_target(db_path, url, read_only=False) as target:
        outcomes = apply_blueprint_files(target, list(files))
    for outcome in outcomes:
        if outcome.error:
            click.echo(f"FAILED  {outcome.source}: {outcome.error}", err=True)
        else:
            click.echo(f"{'created' if outcome.created else 'updated'} {outcome.identifier} ({outcome.source})")
    failed = sum(1 for outcome in outcomes if outcome.error)
    if failed:
        raise click.ClickException(f"{failed} of {len(outcomes)} blueprint files were not applied")


def apply_blueprint_files(target: BlueprintTarget, files: list[Path]) -> list[ApplyOutcome]:
    """Apply every readable blueprint file, relation targets first; one outcome per file."""
    from port_aws_exporter.port.blueprint_order import order_by_relations

    outcomes: list[ApplyOutcome] = []
    loaded: dict[int, tuple[str, dict[str, Any]]] = {}
    for path in files:
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            outcomes.append(ApplyOutcome(str(path), None, None, f"cannot read JSON: {error}"))
            continue
        if not isinstance(body, dict) or not isinstance(body.get("identifier"), str):
            outcomes.append(ApplyOutcome(str(path), None, None, "not a blueprint: no string 'identifier'"))
            continue
        loaded[id(body)] = (str(path), body)
    for blueprint in order_by_relations([body for _source, body in loaded.values()]):
        source, body = loaded[id(blueprint)]
        try:
            created = target.apply(body)
        except Exception as error:  # each file fails alone; the error text names why
            outcomes.append(ApplyOutcome(source, body["identifier"], None, str(error)))
        else:
            outcomes.append(ApplyOutcome(source, body["identifier"], created, None))
    return outcomes


DATABASE_PAGE_SIZE = 1000


class DatabaseTarget:
    """A local catalog database, used directly (`read_only`: for commands that only read)."""

    def __init__(self, db_path: Path, *, read_only: bool = False) -> None:
        from port_aws_exporter.local.catalog import CatalogDatabase, CatalogService, NotACatalogDatabase, Writer

        try:
            database = CatalogDatabase.open_read_only(db_path) if read_only else CatalogDatabase(db_path)
        except NotACatalogDatabase as error:
            raise click.ClickException(str(error)) from error
        self.service = CatalogService(database)
        self.writer = Writer(client_id="port-aws-exporter-cli", user_agent=anonymous_user_agent())

    def apply(self, blueprint: dict[str, Any]) -> bool:
        created, _stored = self.service.apply_blueprint(blueprint, self.writer)
        return created

    def blueprints(self) -> list[dict[str, Any]]:
        return self.service.list_blueprints()

    def blueprint(self, identifier: str) -> dict[str, Any] | None:
        return self._unless_missing(lambda: self.service.get_blueprint(identifier))

    def count(self, blueprint: str) -> int:
        return self.service.count_entities(blueprint)

    def entities(self, blueprint: str, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        # Page by page through the search `POST .../entities/search` answers, as over the API.
        body: dict[str, Any] = {"query": query or MATCH_ALL, "limit": DATABASE_PAGE_SIZE}
        while True:
            page = self.service.search_blueprint(blueprint, body)
            yield from page["entities"]
            if not page.get("next"):
                return
            body["from"] = page["next"]

    def entity(self, blueprint: str, identifier: str) -> dict[str, Any] | None:
        from port_aws_exporter.local.catalog import store

        # The store's own read: it keeps the entity's `$datasource`, which the API does not return.
        return store.load_entity(self.service.database.connection(), blueprint, identifier)

    def write(self, blueprint: str, entities: list[dict[str, Any]]) -> list[str]:
        from port_aws_exporter.local.catalog import WriteOptions

        failures: list[str] = []
        for start in range(0, len(entities), 20):  # the bulk route's limit, as over the API
            body = {"entities": entities[start : start + 20]}
            _status, answer = self.service.bulk_write(blueprint, body, WriteOptions(), self.writer)
            failures.extend(f"{error.get('identifier')}: {error.get('message')}" for error in answer["errors"])
        return failures

    @staticmethod
    def _unless_missing(read: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
        from port_aws_exporter.local.catalog import CatalogError

        try:
            return read()
        except CatalogError as error:
            if error.status == 404:
                return None
            raise

    def close(self) -> None:
        self.service.database.close()


class ApiTarget:
    """A Port API (Port itself or a served local catalog)."""

    def __init__(self, url: str) -> None:
        from port_aws_exporter.port import PortClient, PortCredentials

        self.client = PortClient(PortCredentials.from_env(api_url=url))

    def apply(self, blueprint: dict[str, Any]) -> bool:
        return self.client.apply_blueprint(blueprint).created

    def blueprints(self) -> list[dict[str, Any]]:
        return self.client.list_blueprints()

    def blueprint(self, identifier: str) -> dict[str, Any] | None:
        return self.client.get_blueprint(identifier)

    def write(self, blueprint: str, entities: list[dict[str, Any]]) -> list[str]:
        results = self.client.bulk_upsert(blueprint, entities)
        return [f"{result.identifier}: {result.error}: {result.message}" for result in results if not result.ok]

    def count(self, blueprint: str) -> int:
        return self.client.count_entities(blueprint)

    def entities(self, blueprint: str, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        return self.client.iter_blueprint_entities(blueprint, query if query.get("rules") else None)

    def entity(self, blueprint: str, identifier: str) -> dict[str, Any] | None:
        return self.client.get_entity(blueprint, identifier)

    def close(self) -> None:
        self.client.close()


@contextmanager
def _open_target(db_path: Path | None, url: str | None, *, read_only: bool) -> Iterator[BlueprintTarget]:
    import os

    from port_aws_exporter.port import PortConfigurationError
    from port_aws_exporter.port.credentials import DEFAULT_API_URL

    if db_path is not None and url is not None:
        raise click.UsageError("give either --db or --url, not both")
    if db_path is None and url is None:
        # As `sync` does: PORT_API_URL, else Port's default API once credentials say it is Port.
        url = os.environ.get("PORT_API_URL") or (DEFAULT_API_URL if os.environ.get("PORT_CLIENT_ID") else None)
    target: DatabaseTarget | ApiTarget
    if db_path is not None:
        target = DatabaseTarget(db_path, read_only=read_only)
    elif url is not None:
        try:
            target = ApiTarget(url)
        except PortConfigurationError as error:
            raise click.ClickException(str(error)) from error
    else:
        raise click.UsageError(
            "give --db FILE (a local catalog database) or --url URL (a Port API), or set PORT_CLIENT_ID and "
            "PORT_CLIENT_SECRET for Port's default API"
        )
    try:
        yield target
    finally:
        target.close()


def _guarded(action: Callable[[], T]) -> T:
    from port_aws_exporter.local.catalog import CatalogError
    from port_aws_exporter.port import PortApiError

    try:
        return action()
    except (PortApiError, CatalogError) as error:
        raise click.ClickException(str(error)) from error


def _parse_json_option(name: str, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise click.BadParameter(f"not JSON: {error}", param_hint=name) from error
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object", param_hint=name)
    return value


def _print_table(entities: list[dict[str, Any]], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("Blueprint", "Identifier", "Title", "Updated", title=title)
    for entity in entities:
        table.add_row(
            str(entity.get("blueprint", "")),
            str(entity.get("identifier", "")),
            str(entity.get("title") or ""),
            str(entity.get("updatedAt") or ""),
        )
    Console(width=200).print(table)


def _print_blueprints(blueprints: list[dict[str, Any]], counts: dict[str, int]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("Identifier", "Title", "Entities", "Relations", title=f"{len(blueprints)} blueprints")
    for blueprint in blueprints:
        identifier = str(blueprint["identifier"])
        relations = ", ".join(
            f"{name} → {relation.get('target')}" for name, relation in (blueprint.get("relations") or {}).items()
        )
        table.add_row(identifier, str(blueprint.get("title") or ""), str(counts[identifier]), relations)
    Console(width=200).print(table)


def _print_entity(entity: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    from port_aws_exporter.cli.output import stdout_console as console

    console.print(
        f"[bold]{escape(str(entity.get('title') or entity['identifier']))}[/]  "
        f"{escape(str(entity.get('blueprint')))}/{escape(str(entity['identifier']))}"
    )
    sections = [
        ("Properties", entity.get("properties") or {}),
        ("Relations", entity.get("relations") or {}),
        ("Meta", {key: entity.get(key) for key in _META_FIELDS if entity.get(key) not in (None, "", [])}),
    ]
    for title, values in sections:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="dim")
        table.add_column(overflow="fold")
        for name, value in values.items():
            table.add_row(escape(str(name)), escape(value if isinstance(value, str) else json.dumps(value)))
        console.print(f"\n[bold]{title}[/]")
        console.print(table if values else "[dim]none[/]")


_META_FIELDS = ("team", "icon", "$datasource", "createdAt", "createdBy", "updatedAt", "updatedBy")
