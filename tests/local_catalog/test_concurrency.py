"""Concurrent writers, threads and processes, lose no writes and corrupt nothing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import SecretStr

from port_aws_exporter.local.catalog import RunningCatalog, start_catalog
from port_aws_exporter.local.catalog.store import CatalogDatabase
from port_aws_exporter.port import PortClient, PortCredentials
from tests.fixtures.local_catalog import CATALOG_INSTALLATION, FAST_RETRIES, make_port_client

BLUEPRINT = {
    "identifier": "counter",
    "title": "Counter",
    "schema": {"properties": {f"p{index}": {"type": "number"} for index in range(40)}},
}


def test_concurrent_merges_of_one_entity_keep_every_field(local_catalog: RunningCatalog) -> None:
    with make_port_client(local_catalog) as setup:
        setup.create_blueprint(BLUEPRINT)

    def merge(field: int) -> bool:
        with make_port_client(local_catalog) as client:
            return client.bulk_upsert("counter", [{"identifier": "shared", "properties": {f"p{field}": field}}])[0].ok

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(merge, range(40)))
    entity = local_catalog.service.get_entity("counter", "shared")
    assert entity["properties"] == {f"p{index}": index for index in range(40)}


def test_opening_one_new_file_from_many_connections_at_once_never_fails(tmp_path: Path) -> None:
    # Two `catalog serve` on one fresh file raced on the switch to WAL, which SQLite refuses at once
    # ("database is locked") instead of waiting its busy timeout; about one round in ten failed.
    for round_number in range(40):
        path = tmp_path / f"fresh-{round_number}.db"
        start = threading.Barrier(4)
        with ThreadPoolExecutor(4) as pool:
            for opened in [pool.submit(_open_together, path, start) for _ in range(4)]:
                opened.result()


def _open_together(path: Path, start: threading.Barrier) -> None:
    start.wait()
    CatalogDatabase(path).close()


@pytest.fixture
def served_twice(tmp_path: Path) -> Iterator[tuple[list[str], Path]]:
    """Two `catalog serve` processes on one database file."""
    db_path = tmp_path / "shared.db"
    environment = {**os.environ, "PORT_CLIENT_ID": "procs", "PORT_CLIENT_SECRET": "procs-secret"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "port_aws_exporter", "catalog", "serve", "--db", str(db_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=environment,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        urls = [process.stdout.readline().strip() for process in processes if process.stdout]
        assert all(url.startswith("http://127.0.0.1:") for url in urls)
        yield urls, db_path
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


def test_two_server_processes_on_one_database_lose_no_writes(served_twice: tuple[list[str], Path]) -> None:
    urls, db_path = served_twice
    clients = [
        PortClient(
            PortCredentials(client_id="procs", client_secret=SecretStr("procs-secret"), api_url=url),
            CATALOG_INSTALLATION,
            **FAST_RETRIES,
        )
        for url in urls
    ]
    clients[0].apply_blueprint(BLUEPRINT)

    def write(job: int) -> bool:
        client = clients[job % 2]
        entities = [{"identifier": f"e{job:02d}-{index:02d}", "properties": {"p0": job}} for index in range(40)]
        merged = [{"identifier": "shared", "properties": {f"p{job}": job}}]
        results = client.bulk_upsert("counter", entities) + client.bulk_upsert("counter", merged)
        return all(result.ok for result in results)

    with ThreadPoolExecutor(6) as pool:
        assert all(pool.map(write, range(24)))
    for client in clients:
        client.close()
    with sqlite3.connect(db_path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        count = connection.execute("SELECT count(*) FROM entities WHERE identifier != 'shared'").fetchone()[0]
    assert count == 24 * 40
    with start_catalog(db_path) as reopened:
        shared = reopened.service.get_entity("counter", "shared")
    assert shared["properties"] == {f"p{job}": job for job in range(24)}


def test_data_persists_across_restarts(tmp_path: Path) -> None:
    db_path = tmp_path / "kept.db"
    with start_catalog(db_path) as first, make_port_client(first) as client:
        client.create_blueprint(BLUEPRINT)
        client.bulk_upsert("counter", [{"identifier": "kept", "properties": {"p1": 1}}])
    with start_catalog(db_path) as second, make_port_client(second) as client:
        entity = client.get_entity("counter", "kept")
    assert entity is not None
    assert entity["properties"] == {"p1": 1}
