"""`port-aws-exporter catalog ...`: serve the local catalog, list entities, apply blueprints.

`list` and `blueprints apply` work on a catalog database directly (`--db`) or over the API
(`--url`, authenticating with `PORT_CLIENT_ID`/`PORT_CLIENT_SECRET`), so they work against Port
itself too. A reading command opens `--db` read-only (`_open_target(..., read_only=True)`): it
never creates or changes a database, and a file that is not one is a clear error.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Protocol, TypeVar

import click

from port_aws_exporter.core.installation import anonymous_user_agent

T = TypeVar("T")


class BlueprintTarget(Protocol):
    """Where blueprints are applied and entities listed: a database or an API."""

    def apply(self, blueprint: dict[str, Any]) -> bool:
        """Create or replace the blueprint; True if it was created."""

    def entities(self, blueprint: str | None) -> list[dict[str, Any]]:
        """Entities of one blueprint, or of all."""


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
    with catalog:
        click.echo(catalog.url)
        sys.stdout.flush()
        click.echo(
            f"local catalog serving {db_path} at {catalog.url} (faults: {catalog.url}/_local/faults); Ctrl-C to stop",
            err=True,
        )
        stop.wait()
    click.echo("local catalog stopped", err=True)


@catalog_group.command("list")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), help="Catalog database.")
@click.option("--url", help="Port API base URL (also $PORT_API_URL); uses PORT_CLIENT_ID/SECRET.")
@click.option("--blueprint", help="Only entities of this blueprint.")
@click.option("--json", "as_json", is_flag=True, help="Print the entities as Port returns them.")
def list_command(db_path: Path | None, url: str | None, blueprint: str | None, as_json: bool) -> None:
    """List the entities of a catalog."""
    with _open_target(db_path, url, read_only=True) as target:
        entities = _guarded(lambda: target.entities(blueprint))
    if as_json:
        click.echo(json.dumps(entities, indent=2, ensure_ascii=False))
        return
    _print_table(entities)


@catalog_group.group("blueprints")
def blueprints_group() -> None:
    """Manage blueprints."""


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

    def entities(self, blueprint: str | None) -> list[dict[str, Any]]:
        blueprints = [blueprint] if blueprint else [bp["identifier"] for bp in self.service.list_blueprints()]
        return [entity for name in blueprints for entity in self.service.list_entities(name)]

    def close(self) -> None:
        self.service.database.close()


class ApiTarget:
    """A Port API (Port itself or a served local catalog)."""

    def __init__(self, url: str) -> None:
        from port_aws_exporter.port import PortClient, PortCredentials

        self.client = PortClient(PortCredentials.from_env(api_url=url))

    def apply(self, blueprint: dict[str, Any]) -> bool:
        return self.client.apply_blueprint(blueprint).created

    def entities(self, blueprint: str | None) -> list[dict[str, Any]]:
        blueprints = [blueprint] if blueprint else [bp["identifier"] for bp in self.client.list_blueprints()]
        return [entity for name in blueprints for entity in self.client.iter_blueprint_entities(name)]

    def close(self) -> None:
        self.client.close()


@contextmanager
def _open_target(db_path: Path | None, url: str | None, *, read_only: bool) -> Iterator[BlueprintTarget]:
    import os

    from port_aws_exporter.port import PortConfigurationError

    if db_path is not None and url is not None:
        raise click.UsageError("give either --db or --url, not both")
    url = url if db_path is not None or url is not None else os.environ.get("PORT_API_URL") or None
    target: DatabaseTarget | ApiTarget
    if db_path is not None:
        target = DatabaseTarget(db_path, read_only=read_only)
    elif url is not None:
        try:
            target = ApiTarget(url)
        except PortConfigurationError as error:
            raise click.ClickException(str(error)) from error
    else:
        raise click.UsageError("give --db FILE (a local catalog database) or --url URL (a Port API)")
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


def _print_table(entities: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("Blueprint", "Identifier", "Title", "Updated", title=f"{len(entities)} entities")
    for entity in entities:
        table.add_row(
            str(entity.get("blueprint", "")),
            str(entity.get("identifier", "")),
            str(entity.get("title") or ""),
            str(entity.get("updatedAt") or ""),
        )
    Console(width=200).print(table)
