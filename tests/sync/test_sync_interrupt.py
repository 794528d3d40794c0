"""Ctrl-C on a long `sync`: a real `port-aws-exporter sync` process against the local stack holding
thousands of Lambda functions, sent SIGINT while it reads them.

The first SIGINT says what the sync is finishing and that stale deletion will not run, then the
partial summary and exit 130, with nothing deleted; a second one exits at once, without a summary.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from port_aws_exporter.local.aws import RunningLocalAws

REGIONS = ("us-east-1", "eu-west-1")
FUNCTIONS_PER_REGION = 2500
BLUEPRINT = {"identifier": "fn", "title": "Function", "schema": {"properties": {"arn": {"type": "string"}}}}
MAPPING = {"identifier": ".FunctionName", "blueprint": "fn", "properties": {"arn": ".Arn"}}
CONFIG = {
    "resources": [
        {
            "kind": "AWS::Lambda::Function",
            "selector": {"aws": {"regions": list(REGIONS)}},
            "port": {"entity": {"mappings": [MAPPING]}},
        }
    ]
}
# A heartbeat every 200 resources: the test interrupts once the sync is visibly under way.
HEARTBEAT = ["--heartbeat-resources", "200", "--heartbeat-seconds", "0"]


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "port_aws_exporter", *args]


def _env(aws_env: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORT_")}
    return {**env, **aws_env}


class _Sync:
    """A `sync` process whose stderr is read line by line as it comes."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            _command("sync", *args), env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.stderr: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._lines.put(line)
        self._lines.put(None)

    def wait_for_line(self, prefix: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.stderr.append(line)
            if line.startswith(prefix):
                return line
        raise AssertionError(f"no {prefix!r} line on stderr; it said: {''.join(self.stderr)[-2000:]}")

    def finish(self, timeout: float = 120) -> tuple[int, str, str]:
        assert self.process.stdout is not None
        stdout = self.process.stdout.read()
        returncode = self.process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        while not self._lines.empty():
            line = self._lines.get()
            if line is not None:
                self.stderr.append(line)
        return returncode, stdout, "".join(self.stderr)


def _prepare(aws_env: dict[str, str], local_aws: RunningLocalAws, aws_client: Any, tmp_path: Path) -> list[str]:
    """A catalog owning the entity of a function deleted since (stale), and thousands of functions
    not yet synced; returns the sync's arguments."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps(CONFIG))
    blueprint = tmp_path / "fn.json"
    blueprint.write_text(json.dumps(BLUEPRINT))
    db = tmp_path / "catalog.db"
    env = _env(aws_env)
    applied = subprocess.run(
        _command("catalog", "blueprints", "apply", "--db", str(db), str(blueprint)),
        env=env,
        capture_output=True,
        check=False,
    )
    assert applied.returncode == 0, applied.stderr
    [doomed] = local_aws.bulk_create_lambda_functions(1, region=REGIONS[0], prefix="doomed")
    args = ["--config", str(config), "--local-catalog", str(db)]
    first = subprocess.run(_command("sync", *args), env=env, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    aws_client("lambda", region=REGIONS[0]).delete_function(FunctionName=doomed)
    for region in REGIONS:
        local_aws.bulk_create_lambda_functions(FUNCTIONS_PER_REGION, region=region, prefix=f"fn-{region}")
    return args


def _catalog_identifiers(tmp_path: Path, env: dict[str, str]) -> set[str]:
    listed = subprocess.run(
        _command("catalog", "list", "--db", str(tmp_path / "catalog.db"), "--blueprint", "fn", "--json"),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return {entity["identifier"] for entity in json.loads(listed.stdout)}


def test_the_first_ctrl_c_finishes_what_is_in_flight_prints_the_partial_summary_and_deletes_nothing(
    aws_env: dict[str, str], fresh_local_aws: RunningLocalAws, aws_client: Any, tmp_path: Path
) -> None:
    args = _prepare(aws_env, fresh_local_aws, aws_client, tmp_path)
    env = _env(aws_env)
    total = FUNCTIONS_PER_REGION * len(REGIONS)

    sync = _Sync([*args, "--json", *HEARTBEAT], env, tmp_path)
    heartbeat = sync.wait_for_line("progress: AWS::Lambda::Function ")
    assert " listed, " in heartbeat and " written, " in heartbeat and "/s)" in heartbeat
    sync.process.send_signal(signal.SIGINT)
    returncode, stdout, stderr = sync.finish()

    assert returncode == 130, stderr
    said = stderr[stderr.index("interrupted: finishing the reads in flight of AWS::Lambda::Function") :]
    assert "stale deletion will not run" in said.splitlines()[0]
    report = json.loads(stdout)
    assert report["interrupted"] is True and report["deleted"] == 0
    listed = sum(kind["listed"] for kind in report["kinds"])
    written = sum(kind["written"] for kind in report["kinds"])
    assert 0 < listed < total and written == listed  # what was read was written
    identifiers = _catalog_identifiers(tmp_path, env)
    assert "doomed-00000" in identifiers  # stale, but not deleted by an interrupted run
    assert len(identifiers) == written + 1

    # The same for people: the partial summary table and line, then why it is partial.
    sync = _Sync([*args, *HEARTBEAT], env, tmp_path)
    sync.wait_for_line("progress: AWS::Lambda::Function ")
    sync.process.send_signal(signal.SIGINT)
    returncode, stdout, stderr = sync.finish()
    assert returncode == 130, stderr
    assert "Full sync" in stdout and " resources listed, " in stdout and "0 stale entities deleted" in stdout
    assert "interrupted: the summary is partial" in stderr and "stale deletion did not run" in stderr
    assert "Aborted!" not in stderr and "Traceback" not in stderr
    assert "doomed-00000" in _catalog_identifiers(tmp_path, env)


def test_a_second_ctrl_c_exits_at_once_without_a_summary(
    aws_env: dict[str, str], fresh_local_aws: RunningLocalAws, aws_client: Any, tmp_path: Path
) -> None:
    args = _prepare(aws_env, fresh_local_aws, aws_client, tmp_path)
    env = _env(aws_env)

    sync = _Sync([*args, "--json", *HEARTBEAT], env, tmp_path)
    sync.wait_for_line("progress: AWS::Lambda::Function ")
    sync.process.send_signal(signal.SIGINT)
    sync.wait_for_line("interrupted: finishing")
    sync.process.send_signal(signal.SIGINT)
    returncode, stdout, stderr = sync.finish(timeout=10)

    assert returncode == 130
    assert stdout == ""  # no summary: the user asked twice
    assert "interrupted again: exiting now" in stderr and "Traceback" not in stderr
    assert "doomed-00000" in _catalog_identifiers(tmp_path, env)
