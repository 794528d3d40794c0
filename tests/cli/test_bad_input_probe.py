"""A probe of bad inputs across every command: missing files, wrong types, garbage, servers down.

Each case is a real process; none may end in a traceback, and each must fail (exit 1, or click's
usage exit 2) with an `error` line on stderr. The cases run a few at a time: most are a process
start and an early error, a few wait for botocore's retries against a closed port.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from port_aws_exporter.local.aws import RunningLocalAws

PROJECT = Path(__file__).resolve().parents[2]
CONFIG = str(PROJECT / "examples" / "config.json")
RULES = str(PROJECT / "examples" / "rules.yaml")
PARALLEL = 4


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    env: str = "local"  # "local": the local AWS endpoint; "down": a closed port; "plain": the machine's
    stdin: str | None = None


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """Files of every bad shape, by name."""
    (tmp_path / "dir").mkdir()
    (tmp_path / "not-utf8.json").write_bytes(b"\xff\xfe{\x00\x00")
    (tmp_path / "garbage.json").write_text("{{ this is not json ]")
    (tmp_path / "list.json").write_text("[1, 2, 3]")
    (tmp_path / "string.json").write_text('"just a string"')
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "number.json").write_text("5")
    (tmp_path / "not-sqlite.db").write_text("not a database\n" * 50)
    (tmp_path / "garbage.yaml").write_text("Resources: [unclosed\n  : : :\n")
    (tmp_path / "wrong-config.json").write_text(json.dumps({"resources": "all of them"}))
    (tmp_path / "no-kind.json").write_text(json.dumps({"resources": [{"port": {}}]}))
    (tmp_path / "bad-message.json").write_text(json.dumps({"resource_type": 5, "region": [], "identifier": {}}))
    return tmp_path


def _cases(queue_down: str) -> list[Case]:
    missing = "does-not-exist.json"
    return [
        # config validate
        *(Case(("config", "validate", name)) for name in (missing, "dir", "not-utf8.json", "garbage.json")),
        *(Case(("config", "validate", name)) for name in ("list.json", "string.json", "empty.json")),
        Case(("config", "validate", "wrong-config.json")),
        Case(("config", "validate", "no-kind.json")),
        Case(("config", "validate", "s3://")),
        # map
        Case(("map", "--config", missing, "list.json")),
        Case(("map", "--config", "garbage.json", "list.json")),
        Case(("map", "--config", CONFIG, "--kind", "AWS::Nope::Nope", "list.json")),
        Case(("map", "--config", CONFIG, "--kind", "AWS::SQS::Queue", "not-utf8.json")),
        Case(("map", "--config", CONFIG, "--kind", "AWS::SQS::Queue", "garbage.json")),
        Case(("map", "--config", CONFIG, "--kind", "AWS::SQS::Queue", "number.json")),
        Case(("map", "--config", CONFIG, "--kind", "AWS::SQS::Queue", "-"), stdin="\x00\x01garbage"),
        # rules
        Case(("rules", "test", RULES, "not-utf8.json")),
        Case(("rules", "test", RULES, "garbage.json")),
        Case(("rules", "test", RULES, "list.json")),
        Case(("rules", "test", "garbage.yaml", "list.json")),
        Case(("rules", "test", missing, "list.json")),
        Case(("rules", "lint", "garbage.yaml")),
        Case(("rules", "lint", "not-utf8.json")),
        Case(("rules", "generate", "--config", "garbage.json")),
        Case(("rules", "generate", "--config", "not-utf8.json")),
        # iam-policy
        Case(("iam-policy", "--config", "garbage.json", "--offline")),
        Case(("iam-policy", "--config", "not-utf8.json", "--offline")),
        Case(("iam-policy", "--kind", "AWS::Nope::Nope", "--offline")),
        # catalog
        Case(("catalog", "list", "--db", "not-sqlite.db")),
        Case(("catalog", "list", "--db", "dir")),
        Case(("catalog", "list", "--db", "missing.db")),
        Case(("catalog", "blueprints", "apply", "--db", "c.db", "garbage.json")),
        Case(("catalog", "blueprints", "apply", "--db", "c.db", "not-utf8.json")),
        Case(("catalog", "blueprints", "apply", "--db", "c.db", "list.json")),
        Case(("catalog", "blueprints", "apply", "--db", "not-sqlite.db", CONFIG)),
        # sync
        Case(("sync", "--config", missing, "--local-catalog", "c.db")),
        Case(("sync", "--config", "garbage.json", "--local-catalog", "c.db")),
        Case(("sync", "--config", "wrong-config.json", "--local-catalog", "c.db")),
        Case(("sync", "--config", CONFIG, "--local-catalog", "not-sqlite.db")),
        Case(("sync", "--config", CONFIG, "--local-catalog", "dir")),
        Case(("sync", "--config", CONFIG, "--local-catalog", "c.db"), env="down"),
        # event
        Case(("event", "--config", CONFIG, "--local-catalog", "c.db", "garbage.json")),
        Case(("event", "--config", CONFIG, "--local-catalog", "c.db", "not-utf8.json")),
        Case(("event", "--config", CONFIG, "--local-catalog", "c.db", "bad-message.json")),
        Case(("event", "--config", "garbage.json", "--local-catalog", "c.db", "list.json")),
        # worker
        Case(("worker", "--config", CONFIG, "--local-catalog", "c.db", "--queue-url", "not a url")),
        Case(("worker", "--config", CONFIG, "--local-catalog", "c.db", "--queue-url", queue_down), env="down"),
        Case(("worker", "--config", "garbage.json", "--local-catalog", "c.db", "--queue-url", queue_down)),
        # dlq
        Case(("dlq", "show", "--queue-url", queue_down), env="down"),
        Case(("dlq", "show", "--queue-url", "not a url")),
        Case(("dlq", "replay", "--queue-url", "not a url", "--to", "neither")),
        # local
        Case(("local", "seed", "--endpoint-url", queue_down.rsplit("/", 2)[0]), env="plain"),
        # package
        Case(("package", "--project", "dir"), env="plain"),
    ]


@pytest.fixture
def probe_env(aws_env: dict[str, str], local_aws: RunningLocalAws) -> Iterator[dict[str, dict[str, str]]]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PORT_")}
    local = {**base, **aws_env}
    plain = {k: v for k, v in base.items() if k != "AWS_ENDPOINT_URL"}
    yield {"local": local, "down": {**local, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{_closed_port()}"}, "plain": plain}


def test_no_bad_input_ends_in_a_traceback(inputs: Path, probe_env: dict[str, dict[str, str]]) -> None:
    queue_down = f"{probe_env['down']['AWS_ENDPOINT_URL']}/123456789012/events"
    cases = _cases(queue_down)
    assert len(cases) >= 40

    def run(case: Case) -> tuple[Case, subprocess.CompletedProcess[str]]:
        result = subprocess.run(
            [sys.executable, "-m", "port_aws_exporter", *case.args],
            env=probe_env[case.env],
            cwd=inputs,
            input=case.stdin or "",
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        return case, result

    with ThreadPoolExecutor(PARALLEL) as pool:
        results = list(pool.map(run, cases))
    problems = []
    for case, result in results:
        output = result.stdout + result.stderr
        if "Traceback" in output or result.returncode not in (1, 2) or "rror" not in result.stderr:
            problems.append(f"{' '.join(case.args)} -> exit {result.returncode}\n{output[-1500:]}")
    assert not problems, "\n\n".join(problems)
