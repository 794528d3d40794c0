"""No secret in any output: every log line and output of a faulted run, grepped for the Port client
secret and for every bearer token the exporter was given.

The local catalog runs as `port-aws-exporter catalog serve` (its own output is grepped too) with a
client secret no other test uses, and answers 429/5xx at a fair rate; Cloud Control throttles.
Through it run: the `worker` (with its tokens revoked midway, so it renews one on a 401), `sync
--json --log-json` (with a Port outage), `sync` with a wrong secret, the `event` command, `dlq
show`, and the Lambda consumer in this process. The test asks the catalog for the active token at
each step: one client's token is the same for every asker until it expires or is revoked.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from port_aws_exporter.lambda_runtime.events_invocation import EventsInvocation
from port_aws_exporter.lambda_runtime.warm_state import WarmState
from port_aws_exporter.local.aws import RunningLocalAws
from port_aws_exporter.local.soak import (
    POISON_MESSAGES,
    SOAK_BLUEPRINT,
    SOAK_CONFIG,
    LambdaWorld,
    MessageLedger,
    QueueFeeder,
    WorkerProcess,
    port_outage,
    wait_until,
    worker_environment,
)
from port_aws_exporter.port import PortClient, PortCredentials
from tests.faults.conftest import QueueFactory
from tests.fixtures.event_queues import LambdaContext

pytestmark = pytest.mark.slow

CLIENT_ID = "fault-suite"
MESSAGES = 60


class ServedCatalog:
    """`catalog serve` in a child process, its output in files."""

    def __init__(self, directory: Path, secret: str) -> None:
        self.secret = secret
        self.stdout_path, self.stderr_path = directory / "catalog.stdout", directory / "catalog.stderr"
        environment = {
            **worker_environment("http://unused", "http://unused", CLIENT_ID, secret),
            "PORT_CLIENT_ID": CLIENT_ID,
            "PORT_CLIENT_SECRET": secret,
        }
        faults = {"throttle_rate": 0.1, "server_error_rate": 0.1, "retry_after_seconds": 0.05, "seed": 3}
        command = [sys.executable, "-m", "port_aws_exporter", "catalog", "serve", "--db", str(directory / "c.db")]
        with self.stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(
                [*command, "--faults", json.dumps(faults)],
                env=environment,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        assert self.url.startswith("http://"), self.url
        self.tokens: set[str] = set()

    def active_token(self) -> str:
        """The token the catalog hands this client now (the exporter's, while it is valid)."""
        for _ in range(50):  # the token route suffers the faults too
            response = httpx.post(
                f"{self.url}/v1/auth/access_token", json={"clientId": CLIENT_ID, "clientSecret": self.secret}
            )
            if response.status_code == 200:
                token = str(response.json()["accessToken"])
                self.tokens.add(token)
                return token
            time.sleep(0.05)
        raise AssertionError("the catalog gave no token")

    def stop(self) -> str:
        self.process.terminate()
        rest, _ = self.process.communicate(timeout=30)
        return rest + self.stderr_path.read_text(errors="replace")


@pytest.fixture
def served_catalog(tmp_path: Path) -> Iterator[ServedCatalog]:
    catalog = ServedCatalog(tmp_path, f"s3cr3t-{secrets.token_hex(12)}")
    try:
        yield catalog
    finally:
        if catalog.process.poll() is None:
            catalog.process.kill()


def test_no_secret_or_token_reaches_any_log_or_output(
    fresh_local_aws: RunningLocalAws,
    served_catalog: ServedCatalog,
    event_queues: QueueFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    catalog = served_catalog
    environment = worker_environment(fresh_local_aws.url, catalog.url, CLIENT_ID, catalog.secret)
    credentials = PortCredentials(client_id=CLIENT_ID, client_secret=SecretStr(catalog.secret), api_url=catalog.url)
    with PortClient(credentials) as port:
        port.apply_blueprint(SOAK_BLUEPRINT)  # through the faults: the client retries
    catalog.active_token()
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(SOAK_CONFIG))
    world = LambdaWorld(fresh_local_aws.url)
    names = world.create(MESSAGES, "secret")
    fresh_local_aws.faults.fail("CloudApiService.GetResource", probability=0.1, count=10)
    outputs: dict[str, str] = {}

    # The worker: messages, poison, its tokens revoked midway.
    queues = event_queues(visibility_timeout=5, max_receive_count=3)
    worker = WorkerProcess(config_path, queues.queue_url, environment, tmp_path / "worker.log")
    worker.start()
    feeder = QueueFeeder(queues.sqs, queues.queue_url)
    feeder.feed([world.created(name) for name in names[: MESSAGES // 2]])
    wait_until(lambda: len(MessageLedger.read(worker.log_path).acknowledged) >= 10, 120, "the first messages")
    catalog.active_token()
    httpx.post(f"{catalog.url}/_local/tokens/revoke").raise_for_status()
    feeder.feed([world.created(name) for name in names[MESSAGES // 2 :]] + list(POISON_MESSAGES))
    wait_until(lambda: feeder.depth() == 0, 180, "the queue to drain")
    catalog.active_token()
    assert worker.stop() == 0
    outputs["worker log"] = worker.log_path.read_text()
    outputs["worker output"] = worker.output_path.read_text()
    # After the revocation the worker wrote the second half with a token it renewed on a 401.
    assert len(MessageLedger.read(worker.log_path).acknowledged) == MESSAGES

    # The full sync, with Port down for a while during it.
    port_outage(catalog.url, 2.0)
    sync = _run(["sync", "--config", str(config_path), "--json", "--log-json"], environment)
    outputs["sync"] = sync.stdout + sync.stderr
    assert sync.returncode == 0, sync.stderr[-2000:]
    catalog.active_token()
    wrong = _run(
        ["sync", "--config", str(config_path)], {**environment, "PORT_CLIENT_SECRET": catalog.secret + "-wrong"}
    )
    outputs["sync, wrong secret"] = wrong.stdout + wrong.stderr
    assert wrong.returncode == 1 and "401" in outputs["sync, wrong secret"]
    message = tmp_path / "message.json"
    message.write_text(world.created(names[0]))
    event = _run(["event", "--config", str(config_path), str(message), "--json"], environment)
    outputs["event"] = event.stdout + event.stderr
    dlq = _run(["dlq", "show", "--queue-url", queues.dlq_url, "--json", "--config", str(config_path)], environment)
    outputs["dlq show"] = dlq.stdout + dlq.stderr
    assert dlq.returncode == 0 and len(json.loads(dlq.stdout)) == len(POISON_MESSAGES)

    # The Lambda consumer, in this process (its JSON log lines go to stderr).
    for name, value in {**environment, "PORT_AWS_EXPORTER_CONFIG": str(config_path), "LOG_LEVEL": "DEBUG"}.items():
        monkeypatch.setenv(name, value)
    warm = WarmState()
    try:
        consumer = EventsInvocation(warm)
        records = [_record(n, world.created(name)) for n, name in enumerate(names[:10])]
        httpx.post(f"{catalog.url}/_local/tokens/revoke").raise_for_status()
        response = consumer({"Records": records}, LambdaContext())
        catalog.active_token()
    finally:
        warm.reset()
    captured = capfd.readouterr()
    outputs["lambda consumer"] = captured.out + captured.err
    assert isinstance(response["batchItemFailures"], list)

    outputs["catalog"] = catalog.stop()
    assert len(catalog.tokens) >= 3  # the first, one after each revocation
    for where, text in outputs.items():
        assert text, f"no output from {where}?"
        assert catalog.secret not in text, f"the client secret is in the {where} output"
        for token in catalog.tokens:
            assert token not in text, f"a bearer token is in the {where} output"
        assert "Bearer " not in text, where
    assert "retrying" in outputs["worker log"] and "retrying" in outputs["sync"]  # the faults did happen


def _run(arguments: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "port_aws_exporter", *arguments]
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300, check=False)


def _record(number: int, body: str) -> dict[str, Any]:
    return {
        "messageId": f"lambda-{number}",
        "receiptHandle": f"handle-{number}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "eventSource": "aws:sqs",
        "awsRegion": "us-east-1",
    }
