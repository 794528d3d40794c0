"""Lambda's Python runtime, as far as it can run here: handlers imported from an unpacked artifact.

`ArtifactRuntime(code_dir, environment)` starts `python -I -S` (no site-packages, no PYTHON*
variables: the standard library and `code_dir` only, as in Lambda's task root) with exactly the
given environment, and keeps it warm between invocations, as Lambda keeps an execution environment.
`invoke("port_aws_exporter.handler.sync_handler", event, context)` sends one JSON line, the runtime
imports the handler, calls it with the event and a context object (request id, function ARN,
remaining time) and answers with one JSON line. What the handlers write (their JSON logs) goes to a
log file, read back with `log_records()`.

The Lambda runtime itself (its API, its sandbox) cannot run here; this is the part of it that
matters to the handlers: what they can import, the environment they see, the context they get.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

_BOOTSTRAP = textwrap.dedent(
    """
    import importlib, json, os, sys, sysconfig, time, traceback

    code_dir = sys.argv[1]
    sys.path.insert(0, code_dir)
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything a handler prints goes to the log, never into the replies


    class Context:
        def __init__(self, fields):
            self.aws_request_id = fields["aws_request_id"]
            self.invoked_function_arn = fields["invoked_function_arn"]
            self.function_name = fields["invoked_function_arn"].split(":")[6]
            self._deadline = time.monotonic() + fields["remaining_ms"] / 1000

        def get_remaining_time_in_millis(self):
            return max(0, int((self._deadline - time.monotonic()) * 1000))


    def imported_from():
        stdlib = (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])
        files = {getattr(module, "__file__", None) for module in list(sys.modules.values())}
        return sorted(f for f in files if f and not f.startswith(stdlib))


    for line in sys.stdin:
        request = json.loads(line)
        if request["handler"] == "__imported_from__":
            reply = {"ok": True, "value": {"sys_path": sys.path, "files": imported_from()}}
        else:
            module_name, _, name = request["handler"].rpartition(".")
            try:
                handler = getattr(importlib.import_module(module_name), name)
                reply = {"ok": True, "value": handler(request["event"], Context(request["context"]))}
            except Exception as error:
                traceback.print_exc()
                reply = {"ok": False, "error": type(error).__name__, "message": str(error)}
        replies.write(json.dumps(reply) + "\\n")
        replies.flush()
    """
)


class HandlerError(Exception):
    """A handler raised: its exception's type and message, as Lambda reports a function error."""


@dataclass(frozen=True)
class Invocation:
    """What the runtime was asked and answered, and how long it took."""

    handler: str
    request_id: str
    seconds: float
    value: Any


class ArtifactRuntime:
    """A warm Python process that imports handlers from `code_dir` only, with `environment` only."""

    def __init__(self, code_dir: Path, environment: Mapping[str, str], log_path: Path) -> None:
        self.code_dir = code_dir
        self.environment = dict(environment)
        self.log_path = log_path
        self.invocations: list[Invocation] = []
        self._buffer = bytearray()
        self._log = log_path.open("ab")
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _BOOTSTRAP, str(code_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=self.environment,
            cwd=code_dir,
        )

    def invoke(
        self,
        handler: str,
        event: Any,
        *,
        function_arn: str,
        remaining_ms: int = 900_000,
        timeout: float = 120.0,
    ) -> Any:
        """Call `handler` (module.attribute) with `event`; its return value, or HandlerError."""
        request_id = str(uuid.uuid4())
        context = {"aws_request_id": request_id, "invoked_function_arn": function_arn, "remaining_ms": remaining_ms}
        started = time.monotonic()
        reply = self._request({"handler": handler, "event": event, "context": context}, timeout)
        self.invocations.append(Invocation(handler, request_id, time.monotonic() - started, reply.get("value")))
        if not reply["ok"]:
            raise HandlerError(f"{reply['error']}: {reply['message']}")
        return reply["value"]

    def imported_from(self) -> dict[str, Any]:
        """The runtime's `sys.path` and the file of every module it loaded outside the standard library."""
        reply = self._request({"handler": "__imported_from__"}, 10.0)
        value: dict[str, Any] = reply["value"]
        return value

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON log lines the handlers wrote so far."""
        self._log.flush()
        lines = self.log_path.read_text(errors="replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def log_text(self) -> str:
        """Everything the runtime wrote to its log (JSON lines, tracebacks)."""
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def _request(self, request: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps(request).encode() + b"\n")
        self._process.stdin.flush()
        deadline = time.monotonic() + timeout
        fd = self._process.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{request.get('handler')} did not answer in {timeout} s; log:\n{self._tail()}")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise RuntimeError(
                        f"the runtime exited ({self._process.wait(5)}) during {request.get('handler')}; "
                        f"log:\n{self._tail()}"
                    )
                self._buffer += chunk
        line, _, rest = bytes(self._buffer).partition(b"\n")
        self._buffer = bytearray(rest)
        reply: dict[str, Any] = json.loads(line)
        return reply

    def _tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def close(self) -> None:
        """End the process (its stdin closes: the loop ends), then the log."""
        if self._process.stdin is not None and not self._process.stdin.closed:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._log.close()

    def __enter__(self) -> ArtifactRuntime:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
