from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from port_aws_exporter.cli import main
from port_aws_exporter.local.catalog import (
    CatalogDatabase,
    CatalogService,
    RunningCatalog,
    WriteOptions,
    Writer,
    start_catalog,
)

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


def _example_catalog(db_path: Path) -> None:
    """Two blueprints in a database: clusters, and services that relate to them."""
    service = CatalogService(CatalogDatabase(db_path))
    writer = Writer("test", "port-aws-exporter/0.1.0 (accountid/123456789012 region/eu-west-1)")
    string = {"type": "string"}
    service.create_blueprint(
        {"identifier": "cluster", "title": "Cluster", "schema": {"properties": {"engine": string}}}, writer
    )
    service.create_blueprint(
        {
            "identifier": "service",
            "title": "Service",
            "schema": {"properties": {"port": {"type": "number"}}},
            "relations": {"cluster": {"target": "cluster", "many": False, "required": False}},
        },
        writer,
    )
    for name, engine in (("c-blue", "fargate"), ("c-green", "ec2"), ("c-red", "fargate")):
        service.write_entity("cluster", {"identifier": name, "properties": {"engine": engine}}, WriteOptions(), writer)
    service.write_entity(
        "service",
        {"identifier": "web", "title": "Web", "properties": {"port": 443}, "relations": {"cluster": "c-blue"}},
        WriteOptions(),
        writer,
    )
    service.database.close()


def test_list_filters_and_limits_like_the_page(tmp_path: Path) -> None:
    db_path = tmp_path / "c.db"
    _example_catalog(db_path)
    runner = CliRunner()

    def listed(*args: str) -> list[str]:
        result = runner.invoke(main, ["catalog", "list", "--db", str(db_path), "--json", *args])
        assert result.exit_code == 0, result.output
        return [entity["identifier"] for entity in json.loads(result.output)]

    assert listed() == ["c-blue", "c-green", "c-red", "web"]
    assert listed("--limit", "2") == ["c-blue", "c-green"]
    assert listed("--filter", "fargate") == ["c-blue", "c-red"]  # a text property's value
    assert listed("--filter", "e", "--blueprint", "service") == ["web"]
    assert listed("--filter", '{"property": "port", "operator": ">", "value": 80}') == ["web"]
    assert listed("--filter", "c-", "--limit", "1") == ["c-blue"]
    table = runner.invoke(main, ["catalog", "list", "--db", str(db_path), "--limit", "2"])
    assert "the first 2 entities" in table.output
    bad = runner.invoke(main, ["catalog", "list", "--db", str(db_path), "--filter", "{oops"])
    assert bad.exit_code == 2 and "--filter" in bad.output and "not JSON" in bad.output
    refused = runner.invoke(
        main, ["catalog", "list", "--db", str(db_path), "--filter", '{"property": "port", "operator": "~"}']
    )
    assert refused.exit_code == 1 and "'~' is not supported" in refused.output
    ghost = runner.invoke(main, ["catalog", "list", "--db", str(db_path), "--blueprint", "ghost"])
    assert ghost.exit_code == 1 and "no blueprint 'ghost'" in ghost.output


def test_get_shows_one_entity(tmp_path: Path) -> None:
    db_path = tmp_path / "c.db"
    _example_catalog(db_path)
    runner = CliRunner()
    shown = runner.invoke(main, ["catalog", "get", "--db", str(db_path), "service", "web"])
    assert shown.exit_code == 0, shown.output
    assert "Web  service/web" in shown.output
    assert re.search(r"port\s+443", shown.output) and re.search(r"cluster\s+c-blue", shown.output)
    assert "accountid/123456789012 region/eu-west-1" in shown.output  # the database keeps $datasource
    as_json = runner.invoke(main, ["catalog", "get", "--db", str(db_path), "service", "web", "--json"])
    entity = json.loads(as_json.output)
    assert (entity["identifier"], entity["relations"]) == ("web", {"cluster": "c-blue"})
    assert not any(key.startswith("$") for key in entity)  # as Port returns it
    missing = runner.invoke(main, ["catalog", "get", "--db", str(db_path), "service", "api"])
    assert missing.exit_code == 1 and "blueprint 'service' has no entity 'api'" in missing.output
    no_blueprint = runner.invoke(main, ["catalog", "get", "--db", str(db_path), "ghost", "web"])
    assert no_blueprint.exit_code == 1 and "no blueprint 'ghost'" in no_blueprint.output


def test_blueprints_list_counts_entities(tmp_path: Path) -> None:
    db_path = tmp_path / "c.db"
    _example_catalog(db_path)
    runner = CliRunner()
    table = runner.invoke(main, ["catalog", "blueprints", "list", "--db", str(db_path)])
    assert table.exit_code == 0, table.output
    assert re.search(r"cluster\s+│\s+Cluster\s+│\s+3\s+│", table.output)
    assert re.search(r"service\s+│\s+Service\s+│\s+1\s+│\s+cluster → cluster", table.output)
    as_json = runner.invoke(main, ["catalog", "blueprints", "list", "--db", str(db_path), "--json"])
    assert [blueprint["identifier"] for blueprint in json.loads(as_json.output)] == ["cluster", "service"]


def test_list_get_and_blueprints_over_the_api(local_catalog: RunningCatalog) -> None:
    _example_catalog(local_catalog.db_path)
    environment = {"PORT_CLIENT_ID": local_catalog.client_id, "PORT_CLIENT_SECRET": local_catalog.client_secret}
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(main, ["catalog", *args, "--url", local_catalog.url], env=environment)
        assert result.exit_code == 0, result.output
        return result.output

    assert [e["identifier"] for e in json.loads(run("list", "--filter", "fargate", "--json"))] == ["c-blue", "c-red"]
    assert len(json.loads(run("list", "--limit", "3", "--json"))) == 3
    assert json.loads(run("get", "service", "web", "--json"))["properties"] == {"port": 443}
    assert re.search(r"cluster\s+│\s+Cluster\s+│\s+3\s+│", run("blueprints", "list"))


def test_entities_count_route_answers_as_port() -> None:
    """`GET /v1/blueprints/{id}/entities-count`, as Port's OpenAPI document gives it."""
    with start_catalog(client_secret="s") as catalog:
        token = _token_for(catalog)
        headers = {"Authorization": f"Bearer {token}"}
        _example_catalog(catalog.db_path)
        counted = httpx.get(f"{catalog.url}/v1/blueprints/cluster/entities-count", headers=headers)
        assert (counted.status_code, counted.json()) == (200, {"ok": True, "count": 3})
        missing = httpx.get(f"{catalog.url}/v1/blueprints/ghost/entities-count", headers=headers)
        assert missing.status_code == 404 and missing.json()["ok"] is False
        assert httpx.get(f"{catalog.url}/v1/blueprints/cluster/entities-count").status_code == 401


def _token_for(catalog: RunningCatalog) -> str:
    body = {"clientId": catalog.client_id, "clientSecret": catalog.client_secret}
    return str(httpx.post(f"{catalog.url}/v1/auth/access_token", json=body).json()["accessToken"])
