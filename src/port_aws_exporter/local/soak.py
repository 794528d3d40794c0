"""Drills of the exporter under faults on the local stack, for the fault suite and the soak benchmark.

The pieces, each reached over HTTP or as a child process, so the code under test is what a user runs:

- `FaultProfile`: Port answering 429 and 5xx at some rate (the local catalog's fault injection),
  Cloud Control throttling a fraction of calls (the local AWS endpoint's), and `port_outage`.
- `LambdaWorld`: Lambda functions in the local AWS, changed through Lambda's API, and the seed's
  event message for each change (what its EventBridge rule sends to the events queue).
- `QueueFeeder`: sends messages while keeping the queue shallow (moto's SQS slows down with depth:
  every call walks the queue).
- `WorkerProcess`: `port-aws-exporter worker` in a child process, its JSON log lines kept in a file
  across restarts, so that a `kill -9` loses nothing of what it logged; `MessageLedger` reads them:
  what became of each message id.

    profile = FaultProfile()
    profile.apply(aws_url, catalog_url)
    worker = WorkerProcess(config_path, queue_url, environment, log_path)
    worker.start(); ...; worker.kill(); worker.start()
    ledger = MessageLedger.read(log_path)
    ledger.acknowledged  # message ids applied or dropped on purpose
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config

SOAK_REGION = "us-east-1"
SOAK_BLUEPRINT: dict[str, Any] = {
    "identifier": "soakFunction",
    "title": "Function",
    "schema": {
        "properties": {"memory": {"type": "number"}, "timeout": {"type": "number"}, "runtime": {"type": "string"}},
        "required": [],
    },
}
# The seed's Lambda mapping, onto `SOAK_BLUEPRINT`.
SOAK_CONFIG: dict[str, Any] = {
    "resources": [
        {
            "kind": "AWS::Lambda::Function",
            "selector": {"aws": {"regions": [SOAK_REGION]}},
            "port": {
                "entity": {
                    "mappings": [
                        {
                            "identifier": ".FunctionName",
                            "title": ".FunctionName",
                            "blueprint": "soakFunction",
                            "properties": {"memory": ".MemorySize", "timeout": ".Timeout", "runtime": ".Runtime"},
                        }
                    ]
                }
            },
        }
    ]
}
_DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
_HTTP_TIMEOUT = 120.0


# -- faults ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultProfile:
    """Faults on both servers: Port's 429 and 5xx rates, Cloud Control throttling (reads and lists)."""

    port_throttle_rate: float = 0.1
    port_server_error_rate: float = 0.1
    port_retry_after_seconds: float = 0.05
    cloudcontrol_throttle_probability: float = 0.1
    seed: int = 14

    def apply(self, aws_url: str, catalog_url: str) -> None:
        """Turn the faults on (replacing the catalog's settings and adding the AWS rules)."""
        httpx.delete(f"{catalog_url}/_local/faults").raise_for_status()
        settings = {
            "throttle_rate": self.port_throttle_rate,
            "server_error_rate": self.port_server_error_rate,
            "retry_after_seconds": self.port_retry_after_seconds,
            "include_auth": True,
            "seed": self.seed,
        }
        httpx.put(f"{catalog_url}/_local/faults", json=settings).raise_for_status()
        if self.cloudcontrol_throttle_probability > 0:
            rules = [
                {"target": target, "code": "ThrottlingException", "probability": self.cloudcontrol_throttle_probability}
                for target in ("CloudApiService.GetResource", "CloudApiService.ListResources")
            ]
            httpx.post(f"{aws_url}/_local/faults", json=rules).raise_for_status()


def port_outage(catalog_url: str, seconds: float) -> None:
    """Every Port request answers 503 for `seconds` from now (the other fault settings stay)."""
    httpx.put(f"{catalog_url}/_local/faults", json={"outage_seconds": seconds}).raise_for_status()


def clear_faults(aws_url: str, catalog_url: str) -> None:
    """No faults on either server."""
    httpx.delete(f"{catalog_url}/_local/faults").raise_for_status()
    httpx.delete(f"{aws_url}/_local/faults").raise_for_status()


# -- the Lambda world and its messages -------------------------------------------------------


def seed_message(function_name: str, event_name: str, region: str = SOAK_REGION) -> str:
    """The message the seed's Lambda rule sends for a CloudTrail event of `function_name`."""
    return json.dumps(
        {
            "resource_type": "AWS::Lambda::Function",
            "requestFunctionName": function_name,
            "responseFunctionName": "" if event_name.startswith("Delete") else function_name,
            "eventName": event_name,
            "region": f'"{region}"',
            "identifier": 'if .responseFunctionName != "" then .responseFunctionName else .requestFunctionName end',
            "action": 'if .eventName | startswith("Delete") then "delete" else "upsert" end',
        },
        indent=2,
    )


# Messages no consumer can apply, one per way a rule or a sender gets it wrong: each must end in the
# dead-letter queue with its reason, never block the rest.
POISON_MESSAGES: tuple[str, ...] = (
    "{not json",
    json.dumps({"resource_type": "AWS::Lambda::Function", "region": '"us-east1"', "identifier": '"fn"'}),
    json.dumps({"resource_type": "AWS::Nope::Thing", "region": '"us-east-1"', "identifier": '"fn"'}),
    '{"resource_type": "AWS::Lambda::Function", "region": "\\"us-east-1\\"", "identifier": ".name", "name": "\\ud800"}',
    json.dumps({"resource_type": "AWS::Lambda::Function", "region": "us-east-1", "identifier": '"fn"'}),
)


class LambdaWorld:
    """Lambda functions in the local AWS, and the messages their changes make."""

    def __init__(self, aws_url: str, region: str = SOAK_REGION) -> None:
        self.aws_url = aws_url
        self.region = region
        self._lambda = boto3.client(
            "lambda",
            region_name=region,
            endpoint_url=aws_url,
            config=Config(retries={"mode": "standard", "total_max_attempts": 5}),
            **_DUMMY_CREDENTIALS,
        )

    def create(self, count: int, prefix: str) -> list[str]:
        """`count` new functions `{prefix}-00000`…, written straight into moto (seconds, not minutes)."""
        response = httpx.post(
            f"{self.aws_url}/_local/bulk/lambda-functions",
            json={"count": count, "region": self.region, "prefix": prefix},
            timeout=_HTTP_TIMEOUT,
        )
        response.raise_for_status()
        return [f"{prefix}-{index:05d}" for index in range(count)]

    def created(self, name: str) -> str:
        """The message of a function's creation."""
        return seed_message(name, "CreateFunction20150331", self.region)

    def update(self, name: str) -> str:
        """Grow the function's memory by 64 MB through Lambda's API; the message of that change."""
        current = self._lambda.get_function_configuration(FunctionName=name)["MemorySize"]
        self._lambda.update_function_configuration(FunctionName=name, MemorySize=min(current + 64, 10240))
        return seed_message(name, "UpdateFunctionConfiguration20150331v2", self.region)

    def delete(self, name: str) -> str:
        """Delete the function through Lambda's API; the message of that change."""
        self._lambda.delete_function(FunctionName=name)
        return seed_message(name, "DeleteFunction20150331", self.region)

    def functions(self) -> dict[str, int]:
        """Every function of the region and its memory size, as Lambda lists them."""
        found: dict[str, int] = {}
        for page in self._lambda.get_paginator("list_functions").paginate():
            found.update({function["FunctionName"]: function["MemorySize"] for function in page["Functions"]})
        return found


# -- feeding the queue -----------------------------------------------------------------------

Outgoing = str | Callable[[], str]
"""A message body, or a change to make first that returns the body of its message."""


@dataclass
class QueueFeeder:
    """Sends messages (ten at a time) while at most `max_depth` wait or are in flight."""

    sqs: Any
    queue_url: str
    max_depth: int = 60
    sent: dict[str, float] = field(default_factory=dict)  # message id -> when it was sent (epoch seconds)

    def depth(self) -> int:
        """Messages in the queue, visible or in flight."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=names)["Attributes"]
        return sum(int(attributes[name]) for name in names)

    def send(self, bodies: Sequence[str]) -> list[str]:
        """Send up to ten bodies now; their message ids."""
        entries = [{"Id": str(index), "MessageBody": body} for index, body in enumerate(bodies)]
        response = self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
        if response.get("Failed"):
            raise RuntimeError(f"SQS refused messages: {response['Failed']}")
        by_index = {int(item["Id"]): item["MessageId"] for item in response["Successful"]}
        now = time.time()  # epoch seconds, as the consumer's log lines are stamped
        ids = [by_index[index] for index in range(len(entries))]
        self.sent.update(dict.fromkeys(ids, now))
        return ids

    def feed(
        self,
        outgoing: Iterable[Outgoing],
        *,
        stop: threading.Event | None = None,
        on_sent: Callable[[int], None] = lambda count: None,
    ) -> None:
        """Send everything, ten at a time, waiting while the queue is deep; `on_sent(total)` after each
        batch. `stop` ends the taking of new items; what was taken (its change made) is still sent."""
        batch: list[str] = []
        for item in outgoing:
            batch.append(item if isinstance(item, str) else item())
            if len(batch) == 10:
                self._send_when_shallow(batch)
                batch = []
                on_sent(len(self.sent))
            if stop is not None and stop.is_set():
                break
        if batch:
            self._send_when_shallow(batch)
            on_sent(len(self.sent))

    def _send_when_shallow(self, batch: list[str]) -> None:
        while self.depth() + len(batch) > self.max_depth:
            time.sleep(0.1)
        self.send(batch)


# -- the worker as a child process ----------------------------------------------------------


class WorkerProcess:
    """`port-aws-exporter worker` in a child process; its log lines appended to `log_path`."""

    def __init__(
        self,
        config_path: Path,
        queue_url: str,
        environment: Mapping[str, str],
        log_path: Path,
        *,
        options: Sequence[str] = ("--wait-seconds", "1", "--retry-delay", "1", "--max-retry-delay", "1"),
    ) -> None:
        self.command = [
            sys.executable,
            "-m",
            "port_aws_exporter",
            "worker",
            "--config",
            str(config_path),
            "--queue-url",
            queue_url,
            *options,
        ]
        self.environment = dict(environment)
        self.log_path = log_path
        self.output_path = log_path.with_suffix(".stdout")
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def pid(self) -> int:
        assert self.process is not None, "the worker is not started"
        return self.process.pid

    def start(self) -> None:
        """Start a worker (a fresh process; the log file is appended to)."""
        with self.log_path.open("ab") as log, self.output_path.open("ab") as output:
            self.process = subprocess.Popen(self.command, env=self.environment, stdout=output, stderr=log)
        self.starts += 1

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no batch finishes, nothing is flushed beyond what was written."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, then wait: the batches in hand finish. The exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise

    def rss_bytes(self) -> int:
        """The worker's resident memory, with its jq worker children."""
        return process_tree_rss(self.pid)


def process_tree_rss(pid: int) -> int:
    """Resident memory of a process and its children (Linux /proc), in bytes."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            # Children are listed per thread: the jq worker is started by a consumer thread.
            children = [
                child
                for task in Path(f"/proc/{current}/task").iterdir()
                for child in (task / "children").read_text().split()
            ]
        except OSError:
            continue  # it exited meanwhile
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
        pending += [int(child) for child in children]
    return total


# -- what became of each message -------------------------------------------------------------


@dataclass
class MessageLedger:
    """The consumer's log lines about each message id, from a worker log file."""

    outcomes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    lines: list[dict[str, Any]] = field(default_factory=list)
    other_lines: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, log_path: Path) -> MessageLedger:
        ledger = cls()
        text = log_path.read_text(errors="replace") if log_path.exists() else ""
        for raw in text.splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                ledger.other_lines.append(raw)  # a partial last line of a killed worker, a traceback
                continue
            if not isinstance(line, dict):
                ledger.other_lines.append(raw)
                continue
            ledger.lines.append(line)
            if "message_id" in line and "outcome" in line:
                ledger.outcomes.setdefault(str(line["message_id"]), []).append(line)
        return ledger

    @property
    def acknowledged(self) -> set[str]:
        """Ids of messages applied, or skipped on purpose (so deleted from the queue)."""
        return {
            message_id
            for message_id, lines in self.outcomes.items()
            if any(line["outcome"] in ("applied", "skipped") for line in lines)
        }

    def acknowledged_at(self, message_id: str) -> float | None:
        """When the message was first acknowledged (epoch seconds, from its log line), or None."""
        for line in self.outcomes.get(message_id, []):
            if line["outcome"] in ("applied", "skipped"):
                return _log_time(str(line.get("time", "")))
        return None

    def reasons(self, message_id: str) -> list[str]:
        """The failure reasons logged for a message, in order."""
        return [str(line.get("reason")) for line in self.outcomes.get(message_id, []) if line["outcome"] == "failed"]


def _log_time(stamp: str) -> float | None:
    """Epoch seconds of a log line's `time` (`2026-12-03 11:32:32,616`, local time)."""
    try:
        return datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
    except ValueError:
        return None


def wait_until(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.2) -> None:
    """Poll `condition` until it holds; TimeoutError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def worker_environment(aws_url: str, catalog_url: str, client_id: str, client_secret: str) -> dict[str, str]:
    """The environment of a worker or sync process on the local stack (nothing of this machine's AWS)."""
    inherited = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "PORT_"))}
    return {
        **inherited,
        "AWS_ENDPOINT_URL": aws_url,
        "AWS_ACCESS_KEY_ID": _DUMMY_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": _DUMMY_CREDENTIALS["aws_secret_access_key"],
        "AWS_DEFAULT_REGION": SOAK_REGION,
        "AWS_REGION": SOAK_REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "PORT_CLIENT_ID": client_id,
        "PORT_CLIENT_SECRET": client_secret,
        "PORT_API_URL": catalog_url,
    }
