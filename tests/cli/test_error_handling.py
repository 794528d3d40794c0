"""The CLI at its edges: each error a user met as a traceback is now one `error:` line and exit 1.

Real processes (`python -m port_aws_exporter`), the local AWS endpoint, and for "AWS down" an
endpoint on a closed port.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from port_aws_exporter.local.aws import RunningLocalAws
from tests.cli_runner import run_cli

PROJECT = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = PROJECT / "examples" / "config.json"
EXAMPLE_RULES = PROJECT / "examples" / "rules.yaml"
NOT_UTF8 = b"\xff\xfe{\x00 not text"


def assert_clean_error(result: subprocess.CompletedProcess[str], *expected: str, exit_code: int = 1) -> None:
    """Exit `exit_code`, no traceback, and an `error:` line that says each of `expected`."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.returncode == exit_code, output
    assert "rror:" in result.stderr, output
    for text in expected:
        assert text in result.stderr, output


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def cli_env(aws_env: dict[str, str]) -> dict[str, str]:
    """The process environment with the local AWS endpoint and no Port credentials."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("PORT_")}, **aws_env}


@pytest.fixture
def aws_down_env(cli_env: dict[str, str]) -> dict[str, str]:
    """AWS unreachable: every service's endpoint is a closed port."""
    return {**cli_env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{closed_port()}"}


@pytest.fixture
def no_credentials_env(cli_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """Real AWS endpoints, and no credentials anywhere boto3 looks."""
    env = {k: v for k, v in cli_env.items() if not k.startswith("AWS_")}
    return {
        **env,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A loopback port another server holds."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def _missing_queue(local_aws: RunningLocalAws) -> str:
    return f"{local_aws.url}/123456789012/no-such-queue"


# -- dlq show | replay ---------------------------------------------------------------------------


def test_dlq_show_of_a_missing_queue(cli_env: dict[str, str], fresh_local_aws: RunningLocalAws, tmp_path: Path) -> None:
    result = run_cli(["dlq", "show", "--queue-url", _missing_queue(fresh_local_aws)], cli_env, tmp_path)
    assert_clean_error(result, "NonExistentQueue", "check the queue URL")


def test_dlq_replay_of_a_missing_queue(
    cli_env: dict[str, str], fresh_local_aws: RunningLocalAws, tmp_path: Path
) -> None:
    missing = _missing_queue(fresh_local_aws)
    result = run_cli(["dlq", "replay", "--queue-url", missing, "--to", missing + "-too"], cli_env, tmp_path)
    assert_clean_error(result, "does not exist")


def test_dlq_show_without_credentials(no_credentials_env: dict[str, str], tmp_path: Path) -> None:
    queue = "https://sqs.us-east-1.amazonaws.com/123456789012/dead-letters"
    result = run_cli(["dlq", "show", "--queue-url", queue], no_credentials_env, tmp_path)
    assert_clean_error(result, "no AWS credentials found", "AWS_PROFILE")


def test_dlq_replay_without_credentials(no_credentials_env: dict[str, str], tmp_path: Path) -> None:
    queue = "https://sqs.us-east-1.amazonaws.com/123456789012/dead-letters"
    result = run_cli(["dlq", "replay", "--queue-url", queue, "--to", queue + "-2"], no_credentials_env, tmp_path)
    assert_clean_error(result, "no AWS credentials found")


def test_dlq_show_and_replay_with_aws_down(aws_down_env: dict[str, str], tmp_path: Path) -> None:
    queue = f"{aws_down_env['AWS_ENDPOINT_URL']}/123456789012/dead-letters"
    shown = run_cli(["dlq", "show", "--queue-url", queue], aws_down_env, tmp_path)
    assert_clean_error(shown, "cannot reach AWS at", aws_down_env["AWS_ENDPOINT_URL"])
    replayed = run_cli(["dlq", "replay", "--queue-url", queue, "--to", queue + "-2"], aws_down_env, tmp_path)
    assert_clean_error(replayed, "cannot reach AWS at")


# -- worker and event ----------------------------------------------------------------------------


def test_worker_and_event_with_aws_down(aws_down_env: dict[str, str], tmp_path: Path) -> None:
    queue = f"{aws_down_env['AWS_ENDPOINT_URL']}/123456789012/events"
    worker = run_cli(
        ["worker", "--config", str(EXAMPLE_CONFIG), "--local-catalog", "c.db", "--queue-url", queue],
        aws_down_env,
        tmp_path,
    )
    assert_clean_error(worker, "cannot reach AWS at")
    message = tmp_path / "message.json"
    message.write_text(json.dumps({"resource_type": "AWS::SQS::Queue", "region": '"us-east-1"', "identifier": '"q"'}))
    event = run_cli(
        ["event", "--config", str(EXAMPLE_CONFIG), "--local-catalog", "c.db", str(message)], aws_down_env, tmp_path
    )
    assert_clean_error(event, "cannot reach AWS at")


def test_worker_on_a_queue_that_does_not_exist_exits_at_once(
    cli_env: dict[str, str], fresh_local_aws: RunningLocalAws, tmp_path: Path
) -> None:
    missing = _missing_queue(fresh_local_aws)
    args = ["worker", "--config", str(EXAMPLE_CONFIG), "--local-catalog", "c.db", "--queue-url", missing]
    result = run_cli([*args, "--wait-seconds", "1"], cli_env, tmp_path, timeout=60)
    assert_clean_error(result, "the worker stopped", "NonExistentQueue", "check the queue URL")
    stats = json.loads(result.stdout)
    assert stats["received"] == 0 and 1 <= stats["receive_errors"] <= 2  # once per consumer, not every few seconds


# -- files that are not what they should be ------------------------------------------------------


def test_config_validate_on_a_directory_and_on_a_non_utf8_file(tmp_path: Path) -> None:
    env = dict(os.environ)
    directory = run_cli(["config", "validate", str(tmp_path)], env, tmp_path)
    assert_clean_error(directory, "Is a directory")
    binary = tmp_path / "config.json"
    binary.write_bytes(NOT_UTF8)
    not_text = run_cli(["config", "validate", str(binary)], env, tmp_path)
    assert_clean_error(not_text, "utf-8")


def test_rules_test_on_a_non_utf8_event(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_bytes(NOT_UTF8)
    result = run_cli(["rules", "test", str(EXAMPLE_RULES), str(event)], dict(os.environ), tmp_path)
    assert_clean_error(result, f"cannot read {event}: not UTF-8 text")


def test_catalog_list_and_serve_on_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "catalog.db"
    db.write_text("these are not the tables you are looking for\n" * 100)
    env = {**os.environ, "PORT_CLIENT_ID": "local", "PORT_CLIENT_SECRET": "local-secret"}
    listed = run_cli(["catalog", "list", "--db", str(db)], env, tmp_path)
    assert_clean_error(listed, "is not a catalog database")
    served = run_cli(["catalog", "serve", "--db", str(db), "--port", str(closed_port())], env, tmp_path)
    assert_clean_error(served, f"{db} is not a catalog database")
    assert db.read_text().startswith("these are not")  # left as it was


def test_local_aws_on_a_port_in_use(listening_port: int, tmp_path: Path) -> None:
    result = run_cli(["local", "aws", "--port", str(listening_port)], dict(os.environ), tmp_path)
    assert_clean_error(result, "Address already in use", "choose another with --port")


# -- --debug -------------------------------------------------------------------------------------


def test_debug_shows_the_traceback(aws_down_env: dict[str, str], tmp_path: Path) -> None:
    queue = f"{aws_down_env['AWS_ENDPOINT_URL']}/123456789012/dead-letters"
    result = run_cli(["--debug", "dlq", "show", "--queue-url", queue], aws_down_env, tmp_path)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "EndpointConnectionError" in result.stderr
