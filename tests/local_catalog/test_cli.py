from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from port_aws_exporter.cli import main
from port_aws_exporter.local.catalog import RunningCatalog, WriteOptions, Writer

REGION = {"identifier": "region", "title": "Region", "schema": {"properties": {}}, "relations": {}}


def _serve(db_path: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    environment = {**os.environ, "PORT_CLIENT_ID": "cli", "PORT_CLIENT_SECRET": "cli-secret", **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "port_aws_exporter", "catalog", "serve", "--db", str(db_path), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        text=True,
    )


def _token(url: str) -> str:
    body = {"clientId": "cli", "clientSecret": "cli-secret"}
    return str(httpx.post(f"{url}/v1/auth/access_token", json=body).json()["accessToken"])


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_its_url_first_persists_and_stops_on_signal(tmp_path: Path, stop_signal: int) -> None:
    db_path = tmp_path / "catalog.db"
    process = _serve(db_path)
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:")
    headers = {"Authorization": f"Bearer {_token(url)}"}
    assert httpx.post(f"{url}/v1/blueprints", json=REGION, headers=headers).status_code == 201
    process.send_signal(stop_signal)
    assert process.wait(timeout=10) == 0
    assert "stopped" in (process.stderr.read() if process.stderr else "")
    again = _serve(db_path, "--faults", '{"latency_seconds": 0.01}')
    assert again.stdout is not None
    url = again.stdout.readline().strip()
    try:
        listed = httpx.get(f"{url}/v1/blueprints", headers={"Authorization": f"Bearer {_token(url)}"}).json()
        assert [blueprint["identifier"] for blueprint in listed["blueprints"]] == ["region"]
        assert httpx.get(f"{url}/_local/faults").json()["faults"]["latency_seconds"] == 0.01
    finally:
        again.terminate()
        again.wait(timeout=10)


def test_serve_needs_credentials(tmp_path: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PORT_CLIENT")}
    result = CliRunner().invoke(main, ["catalog", "serve", "--db", str(tmp_path / "x.db")], env=environment)
    assert result.exit_code == 2
    assert "PORT_CLIENT_ID" in result.output


def test_serve_refuses_bad_fault_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "catalog",
            "serve",
            "--db",
            str(tmp_path / "x.db"),
            "--client-id",
            "a",
            "--client-secret",
            "b",
            "--faults",
            "{",
        ],
    )
    assert result.exit_code == 2
    assert "--faults" in result.output


def test_apply_port_examples_to_a_database_then_list(tmp_path: Path, shared_data: Path) -> None:
    db_path = tmp_path / "c.db"
    region_file = tmp_path / "region.blueprint.json"
    region_file.write_text(json.dumps(REGION))
    files = sorted((shared_data / "port-examples").glob("*.blueprint.json"))
    runner = CliRunner()
    applied = runner.invoke(
        main, ["catalog", "blueprints", "apply", "--db", str(db_path), *map(str, files), str(region_file)]
    )
    assert applied.exit_code == 1  # the relations snippet has no identifier
    assert "relations-snippet.blueprint.json: not a blueprint" in applied.output
    assert "1 of 25 blueprint files were not applied" in applied.output
    assert applied.output.count("created ") == 24
    reapplied = runner.invoke(main, ["catalog", "blueprints", "apply", "--db", str(db_path), str(files[0])])
    assert reapplied.exit_code == 0
    assert reapplied.output.startswith("updated apigateway")
    listed = runner.invoke(main, ["catalog", "list", "--db", str(db_path), "--json"])
    assert listed.exit_code == 0
    assert json.loads(listed.output) == []


def test_list_and_apply_over_the_api(local_catalog: RunningCatalog, tmp_path: Path, shared_data: Path) -> None:
    environment = {
        "PORT_CLIENT_ID": local_catalog.client_id,
        "PORT_CLIENT_SECRET": local_catalog.client_secret,
    }
    runner = CliRunner()
    lambda_file = shared_data / "port-examples" / "lambda.blueprint.json"
    applied = runner.invoke(
        main,
        ["catalog", "blueprints", "apply", "--url", local_catalog.url, str(lambda_file)],
        env=environment,
    )
    assert applied.exit_code == 0, applied.output
    assert applied.output.startswith("created lambda")
    local_catalog.service.write_entity(
        "lambda",
        {"identifier": "fn-1", "title": "Function one", "properties": {"memorySize": 128}},
        WriteOptions(),
        Writer("t", "test"),
    )
    as_json = runner.invoke(
        main,
        ["catalog", "list", "--url", f"{local_catalog.url}/v1", "--blueprint", "lambda", "--json"],
        env=environment,
    )
    assert as_json.exit_code == 0, as_json.output
    entities = json.loads(as_json.output)
    assert [(entity["identifier"], entity["blueprint"], entity["properties"]) for entity in entities] == [
        ("fn-1", "lambda", {"memorySize": 128})
    ]
    table = runner.invoke(main, ["catalog", "list", "--url", local_catalog.url], env=environment)
    assert "fn-1" in table.output
    assert "Function one" in table.output
    from_env_url = runner.invoke(
        main, ["catalog", "list", "--json"], env={**environment, "PORT_API_URL": local_catalog.url}
    )
    assert len(json.loads(from_env_url.output)) == 1


def test_list_errors_are_clear(local_catalog: RunningCatalog, tmp_path: Path) -> None:
    runner = CliRunner()
    clean_env = {"PORT_API_URL": "", "PORT_CLIENT_ID": "", "PORT_CLIENT_SECRET": ""}
    neither = runner.invoke(main, ["catalog", "list"], env=clean_env)
    assert neither.exit_code == 2
    assert "--db FILE" in neither.output
    both = runner.invoke(main, ["catalog", "list", "--db", "x.db", "--url", "http://x"], env=clean_env)
    assert both.exit_code == 2
    missing_db = runner.invoke(main, ["catalog", "list", "--db", str(tmp_path / "none.db")])
    assert missing_db.exit_code == 1
    assert "no catalog database" in missing_db.output
    no_credentials = runner.invoke(main, ["catalog", "list", "--url", local_catalog.url], env=clean_env)
    assert no_credentials.exit_code == 1
    assert "PORT_CLIENT_ID and PORT_CLIENT_SECRET" in no_credentials.output
    wrong = {"PORT_CLIENT_ID": local_catalog.client_id, "PORT_CLIENT_SECRET": "wrong"}
    refused = runner.invoke(main, ["catalog", "list", "--url", local_catalog.url], env=wrong)
    assert refused.exit_code == 1
    assert "401" in refused.output
    assert "wrong" not in refused.output
    unknown = runner.invoke(
        main,
        ["catalog", "list", "--url", local_catalog.url, "--blueprint", "ghost"],
        env={"PORT_CLIENT_ID": local_catalog.client_id, "PORT_CLIENT_SECRET": local_catalog.client_secret},
    )
    assert unknown.exit_code == 1
    assert "ghost" in unknown.output


def test_list_never_creates_or_changes_a_database(tmp_path: Path) -> None:
    runner = CliRunner()
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    not_sqlite = tmp_path / "notes.db"
    not_sqlite.write_text("meeting notes, not a database\n" * 20)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE songs (title TEXT)")
    expected = {
        empty: f"{empty} is an empty file, not a catalog database",
        not_sqlite: f"{not_sqlite} is not a catalog database (SQLite: file is not a database)",
        other: f"{other} is an SQLite database but not a catalog: it has no blueprints, entities, relation_links table",
    }
    for path, message in expected.items():
        before = path.read_bytes()
        result = runner.invoke(main, ["catalog", "list", "--db", str(path)])
        assert (result.exit_code, result.output.strip()) == (1, f"Error: {message}")
        assert path.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["empty.db", "notes.db", "other.db"]

    catalog = tmp_path / "catalog.db"
    applied = runner.invoke(main, ["catalog", "blueprints", "apply", "--db", str(catalog), str(_region_file(tmp_path))])
    assert applied.exit_code == 0, applied.output
    before = catalog.read_bytes()
    listed = runner.invoke(main, ["catalog", "list", "--db", str(catalog), "--json"])
    assert (listed.exit_code, json.loads(listed.output)) == (0, [])
    assert catalog.read_bytes() == before


def _region_file(directory: Path) -> Path:
    path = directory / "region.blueprint.json"
    path.write_text(json.dumps(REGION))
    return path


def test_apply_reports_unreadable_files_and_applies_the_rest(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    good = tmp_path / "region.json"
    good.write_text(json.dumps(REGION))
    result = CliRunner().invoke(
        main, ["catalog", "blueprints", "apply", "--db", str(tmp_path / "c.db"), str(broken), str(good)]
    )
    assert result.exit_code == 1
    assert "broken.json: cannot read JSON" in result.output
    assert "created region" in result.output
