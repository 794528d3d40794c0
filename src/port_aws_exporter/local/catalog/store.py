"""SQLite storage of the local catalog: blueprints, entities and the relation links between them.

Safe with concurrent writers, threads and processes alike: WAL journal, a busy timeout, and every
read-modify-write in one `BEGIN IMMEDIATE` transaction, so two merges of the same entity never
lose each other's fields. Each thread uses its own connection.

`CatalogDatabase.open_read_only(path)` is for commands that only read (`catalog list --db`): it
never creates a file nor writes a schema, and an empty or non-SQLite file, or an SQLite file that is
not a catalog, is a `NotACatalogDatabase` error saying so.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from port_aws_exporter.local.catalog.errors import not_found
from port_aws_exporter.local.catalog.search import SqlPrefilter

BUSY_TIMEOUT_SECONDS = 30.0
_TABLES = ("blueprints", "entities", "relation_links")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS blueprints (
    identifier TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entities (
    blueprint TEXT NOT NULL,
    identifier TEXT NOT NULL,
    body TEXT NOT NULL,
    datasource TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (blueprint, identifier)
);
CREATE TABLE IF NOT EXISTS relation_links (
    blueprint TEXT NOT NULL,
    identifier TEXT NOT NULL,
    relation TEXT NOT NULL,
    target_blueprint TEXT NOT NULL,
    target_identifier TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS relation_links_by_source ON relation_links (blueprint, identifier);
CREATE INDEX IF NOT EXISTS relation_links_by_target ON relation_links (target_blueprint, target_identifier);
"""


def _switch_to_wal(connection: sqlite3.Connection) -> None:
    """Put the file in WAL mode, waiting out another process doing the same.

    SQLite answers "database is locked" at once, without calling the busy handler, when two
    connections change a new file's journal mode together (two `catalog serve` on one fresh file),
    so the busy timeout does not cover this statement: it is retried here for as long.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    pause = 0.005
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


class NotACatalogDatabase(ValueError):
    """A file opened read-only that is not a catalog database (missing, empty, not SQLite, other tables)."""


class CatalogDatabase:
    """The catalog's SQLite file and its per-thread connections (created with its schema if missing,
    unless opened read-only)."""

    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        if read_only:
            self._check_catalog()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.connection().executescript(_SCHEMA)

    @classmethod
    def open_read_only(cls, path: Path | str) -> CatalogDatabase:
        """An existing catalog database, for reading only; raises NotACatalogDatabase."""
        return cls(path, read_only=True)

    def _check_catalog(self) -> None:
        if not self.path.is_file():
            raise NotACatalogDatabase(f"no catalog database at {self.path}")
        if self.path.stat().st_size == 0:
            raise NotACatalogDatabase(f"{self.path} is an empty file, not a catalog database")
        try:
            rows = self.connection().execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        except sqlite3.DatabaseError as error:
            self.close()
            raise NotACatalogDatabase(f"{self.path} is not a catalog database (SQLite: {error})") from None
        missing = [table for table in _TABLES if table not in {row[0] for row in rows}]
        if missing:
            self.close()
            raise NotACatalogDatabase(
                f"{self.path} is an SQLite database but not a catalog: it has no {', '.join(missing)} table"
            )

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (autocommit: each read statement sees a consistent snapshot)."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            if self.read_only:
                # `mode=ro`: SQLite itself refuses every write, and never creates the file.
                connection = sqlite3.connect(
                    self.path.resolve().as_uri() + "?mode=ro",
                    uri=True,
                    timeout=BUSY_TIMEOUT_SECONDS,
                    isolation_level=None,
                    check_same_thread=False,
                )
            else:
                connection = sqlite3.connect(
                    self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
                )
                _switch_to_wal(connection)
                connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
            with self._connections_lock:
                self._connections.append(connection)
        return connection

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds SQLite's write lock from its first statement."""
        connection = self.connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: several statements see the same state."""
        connection = self.connection()
        connection.execute("BEGIN")
        try:
            yield connection
        finally:
            connection.execute("COMMIT")

    def close(self) -> None:
        """Close every thread's connection."""
        with self._connections_lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()


# -- blueprints ------------------------------------------------------------------------------


def load_blueprint(connection: sqlite3.Connection, identifier: str) -> dict[str, Any] | None:
    """The stored blueprint, or None."""
    row = connection.execute("SELECT body FROM blueprints WHERE identifier = ?", (identifier,)).fetchone()
    return None if row is None else _decode(row[0])


def required_blueprint(connection: sqlite3.Connection, identifier: str) -> dict[str, Any]:
    """The stored blueprint; a 404 `CatalogError` when there is none."""
    blueprint = load_blueprint(connection, identifier)
    if blueprint is None:
        raise not_found(f"blueprint {identifier!r}")
    return blueprint


def load_blueprints(connection: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every blueprint, by identifier."""
    rows = connection.execute("SELECT body FROM blueprints ORDER BY identifier").fetchall()
    return [_decode(body) for (body,) in rows]


def save_blueprint(connection: sqlite3.Connection, blueprint: dict[str, Any]) -> None:
    """Insert or replace a blueprint."""
    connection.execute(
        "INSERT INTO blueprints (identifier, body) VALUES (?, ?) "
        "ON CONFLICT (identifier) DO UPDATE SET body = excluded.body",
        (blueprint["identifier"], _encode(blueprint)),
    )


def remove_blueprint(connection: sqlite3.Connection, identifier: str) -> bool:
    """Delete a blueprint row; False if there was none."""
    return connection.execute("DELETE FROM blueprints WHERE identifier = ?", (identifier,)).rowcount > 0


def blueprints_relating_to(connection: sqlite3.Connection, target: str) -> list[str]:
    """Identifiers of the other blueprints that have a relation to `target`."""
    return [
        blueprint["identifier"]
        for blueprint in load_blueprints(connection)
        if blueprint["identifier"] != target
        and any(relation.get("target") == target for relation in blueprint.get("relations", {}).values())
    ]


# -- entities --------------------------------------------------------------------------------


def load_entity(connection: sqlite3.Connection, blueprint: str, identifier: str) -> dict[str, Any] | None:
    """The stored entity (with its `$datasource`), or None."""
    row = connection.execute(
        "SELECT body, datasource FROM entities WHERE blueprint = ? AND identifier = ?",
        (blueprint, identifier),
    ).fetchone()
    return None if row is None else _with_datasource(row[0], row[1])


def entity_exists(connection: sqlite3.Connection, blueprint: str, identifier: str) -> bool:
    """Whether the entity exists."""
    row = connection.execute(
        "SELECT 1 FROM entities WHERE blueprint = ? AND identifier = ?", (blueprint, identifier)
    ).fetchone()
    return row is not None


def count_entities(connection: sqlite3.Connection, blueprint: str) -> int:
    """How many entities a blueprint has."""
    row = connection.execute("SELECT count(*) FROM entities WHERE blueprint = ?", (blueprint,)).fetchone()
    return int(row[0])


def save_entity(
    connection: sqlite3.Connection,
    entity: dict[str, Any],
    datasource: str,
    links: list[tuple[str, str, str]],
) -> None:
    """Insert or replace an entity and its relation links `(relation, target blueprint, target)`."""
    blueprint, identifier = entity["blueprint"], entity["identifier"]
    connection.execute(
        "INSERT INTO entities (blueprint, identifier, body, datasource) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (blueprint, identifier) DO UPDATE SET body = excluded.body, "
        "datasource = excluded.datasource",
        (blueprint, identifier, _encode(entity), datasource),
    )
    connection.execute("DELETE FROM relation_links WHERE blueprint = ? AND identifier = ?", (blueprint, identifier))
    if links:
        connection.executemany(
            "INSERT INTO relation_links VALUES (?, ?, ?, ?, ?)",
            [(blueprint, identifier, *link) for link in links],
        )


def remove_entity(connection: sqlite3.Connection, blueprint: str, identifier: str) -> bool:
    """Delete an entity and its outgoing links; False if there was none."""
    connection.execute("DELETE FROM relation_links WHERE blueprint = ? AND identifier = ?", (blueprint, identifier))
    deleted = connection.execute("DELETE FROM entities WHERE blueprint = ? AND identifier = ?", (blueprint, identifier))
    return deleted.rowcount > 0


def dependents_of(connection: sqlite3.Connection, blueprint: str, identifier: str) -> list[tuple[str, str, str]]:
    """`(blueprint, identifier, relation)` of the entities whose relations point at this one."""
    rows = connection.execute(
        "SELECT blueprint, identifier, relation FROM relation_links "
        "WHERE target_blueprint = ? AND target_identifier = ? ORDER BY blueprint, identifier",
        (blueprint, identifier),
    ).fetchall()
    return [(str(row[0]), str(row[1]), str(row[2])) for row in rows]


def scan_entities(
    connection: sqlite3.Connection,
    prefilter: SqlPrefilter,
    *,
    blueprint: str | None = None,
    after: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Entities (with `$datasource`) narrowed by `prefilter`, ordered by blueprint then identifier.

    `after` (with `blueprint`) resumes a listing after that identifier: keyset pagination, stable
    while other requests write.
    """
    clauses: list[str] = []
    arguments: list[Any] = []
    blueprints = prefilter.blueprints
    if blueprint is not None:
        blueprints = (blueprint,) if blueprints is None or blueprint in blueprints else ()
    if blueprints is not None:
        clauses.append(f"blueprint IN ({', '.join('?' * len(blueprints))})")
        arguments.extend(blueprints)
    if prefilter.identifiers is not None:
        clauses.append(f"identifier IN ({', '.join('?' * len(prefilter.identifiers))})")
        arguments.extend(prefilter.identifiers)
    for fragment in prefilter.datasource_contains:
        clauses.append("instr(datasource, ?) > 0")
        arguments.append(fragment)
    if after is not None:
        clauses.append("identifier > ?")
        arguments.append(after)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    cursor = connection.execute(
        f"SELECT body, datasource FROM entities {where} ORDER BY blueprint, identifier",
        arguments,
    )
    for body, datasource in cursor:
        yield _with_datasource(body, datasource)


def clear_all(connection: sqlite3.Connection) -> None:
    """Delete every blueprint, entity and link."""
    connection.execute("DELETE FROM relation_links")
    connection.execute("DELETE FROM entities")
    connection.execute("DELETE FROM blueprints")


def _with_datasource(body: str, datasource: str) -> dict[str, Any]:
    entity = _decode(body)
    entity["$datasource"] = datasource
    return entity


def _encode(value: dict[str, Any]) -> str:
    return json.dumps({key: item for key, item in value.items() if not key.startswith("$")})


def _decode(text: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(text)
    return value
