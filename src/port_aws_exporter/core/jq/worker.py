"""Time-limited jq for programs that arrive in event messages.

A jq program cannot be interrupted in-process: libjq holds the GIL, signal handlers never run, and
deep recursion kills the whole process (`../shared/reference/local-aws-facts.md` §6c). So untrusted
programs run in a worker subprocess, spoken to over pipes with one JSON line per request. When a
request outlives its deadline the worker is killed and a fresh one started; when a program crashes
the worker (out of memory, stack overflow) the request fails and a fresh one is started. Either way
only that evaluation fails and the caller keeps serving.

Pipes and subprocesses work inside AWS Lambda, which has no `/dev/shm` (so no
`multiprocessing.Pool`/`Queue`). The worker gets an empty environment and a memory limit: even a
program that escaped the jq sandbox would find no secret to read. A new worker says when it is
ready: starting it (a Python process importing jq, slow on a busy machine) is not counted against
the time limit of the request that waits for it.

A request the worker cannot evaluate is answered, never a reason for the worker to exit: when jq
cannot read the input document itself (a lone surrogate escape such as `"\\ud800"`, which Python's
JSON reader accepts and jq's refuses; nesting past jq's depth limit), every expression of the
request fails with jq's parse error and `input_error` set, so the caller can say the message is at
fault rather than one of its programs.

Run as `python -m port_aws_exporter.core.jq.worker` it is the worker itself.
"""

from __future__ import annotations

import json
import os
import queue
import resource
import select
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import port_aws_exporter
from port_aws_exporter.core.jq.engine import JqCompileError, JqError, JqRuntimeError, as_field, compile_program

DEFAULT_TIMEOUT_SECONDS = 2.0
DEFAULT_MEMORY_LIMIT_BYTES = 1 << 30
_MIN_MEMORY_LIMIT_BYTES = 256 << 20
# A result bigger than this is an error: the fields evaluated in messages are short strings.
MAX_RESULT_BYTES = 1 << 20
_READ_CHUNK = 1 << 16
# A worker that has not said it is ready by then is given up on (a fault of ours, not of a program).
STARTUP_TIMEOUT_SECONDS = 30.0
_READY = b"ready"


@dataclass(frozen=True)
class JqOutcome:
    """One program's result: `value` when `ok`, else `error` (jq's message or why it was cut off).

    `input_error`: jq could not read the input document, so no program ran on it; `timed_out`: the
    evaluation was cut off at its time limit.
    """

    ok: bool
    value: Any = None
    error: str | None = None
    input_error: bool = False
    timed_out: bool = False


class JqTimeoutError(Exception):
    """Raised inside the worker machinery when a request outlives its deadline."""


class _WorkerCrashedError(Exception):
    """The worker process exited while evaluating a request."""


class JqWorkerStartError(RuntimeError):
    """A worker process did not start (it exited, or was not ready in `STARTUP_TIMEOUT_SECONDS`)."""


class _WorkerProcess:
    """One worker subprocess and the line protocol spoken with it."""

    def __init__(self, memory_limit_bytes: int) -> None:
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(port_aws_exporter.__file__)))
        search_path = os.pathsep.join([package_root, *[p for p in sys.path if p]])
        self._process = subprocess.Popen(
            [sys.executable, "-m", "port_aws_exporter.core.jq.worker", str(memory_limit_bytes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            # No inherited secrets: only what Python needs to find the package and jq.
            env={"PYTHONPATH": search_path, "PYTHONDONTWRITEBYTECODE": "1"},
            close_fds=True,
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._stdin = self._process.stdin
        self._stdout_fd = self._process.stdout.fileno()
        self._buffer = bytearray()
        try:
            ready = self._read_line(time.monotonic() + STARTUP_TIMEOUT_SECONDS)
        except (JqTimeoutError, _WorkerCrashedError):
            ready = None
        if ready != _READY:
            self.kill()
            raise JqWorkerStartError(
                f"the jq worker process did not start (it exited, or was not ready in {STARTUP_TIMEOUT_SECONDS:g} s)"
            )

    def request(self, payload: bytes, deadline: float) -> bytes:
        self._stdin.write(payload)
        self._stdin.flush()
        return self._read_line(deadline)

    def _read_line(self, deadline: float) -> bytes:
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[: newline + 1]
                return line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise JqTimeoutError
            readable, _, _ = select.select([self._stdout_fd], [], [], remaining)
            if not readable:
                raise JqTimeoutError
            chunk = os.read(self._stdout_fd, _READ_CHUNK)
            if not chunk:
                raise _WorkerCrashedError
            self._buffer.extend(chunk)

    def kill(self) -> None:
        self._process.kill()
        self._process.wait()
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                stream.close()


class TimeLimitedJq:
    """Evaluates untrusted jq programs with a wall-clock limit, in worker subprocesses.

    Thread-safe: up to `workers` evaluations run at once, each in its own worker; further callers
    wait for a free worker. Workers start lazily and are reused, so a warm Lambda pays the start-up
    (about 0.1 s) once.

    >>> with TimeLimitedJq(timeout_seconds=2.0) as evaluator:
    ...     [o.value for o in evaluator.first_of_each([".a + 1", ".b"], {"a": 1, "b": 2})]
    [2, 2]
    """

    def __init__(
        self,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        workers: int = 1,
        memory_limit_bytes: int | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.timeout_seconds = timeout_seconds
        self._memory_limit_bytes = memory_limit_bytes or DEFAULT_MEMORY_LIMIT_BYTES
        self._idle: queue.LifoQueue[_WorkerProcess | None] = queue.LifoQueue()
        for _ in range(workers):
            self._idle.put(None)  # a slot; the process starts on first use
        self._closed = False
        self._lock = threading.Lock()
        self.restarts = 0

    def first_of_each(
        self,
        expressions: Sequence[str],
        value: Any = None,
        *,
        value_text: str | None = None,
        timeout_seconds: float | None = None,
    ) -> list[JqOutcome]:
        """The first output (None if none) of each expression on the input, in one round trip.

        The input is `value`, or `value_text` when the caller already holds it as JSON text (an SQS
        message body), which spares an encode. The whole request shares one deadline of
        `timeout_seconds` (this call's, else the evaluator's); on timeout or crash every expression
        of the request fails with the reason.
        """
        limit = self.timeout_seconds if timeout_seconds is None else timeout_seconds
        if self._closed:
            raise RuntimeError("this TimeLimitedJq is closed")
        if value_text is None:
            document = json.dumps(value)
        else:
            # Valid JSON holds raw tabs and newlines only as whitespace between tokens.
            document = value_text.replace("\n", " ").replace("\t", " ")
        # The programs' compact JSON holds no raw tab or newline, so these two frame the request.
        payload = f"{json.dumps(list(expressions))}\t{document}\n"
        worker = self._idle.get()
        try:
            if worker is None:
                worker = _WorkerProcess(self._memory_limit_bytes)
            line = worker.request(payload.encode(), time.monotonic() + limit)
        except JqTimeoutError:
            self._discard(worker)
            worker = None
            reason = f"jq evaluation exceeded its time limit of {round(limit, 2):g} s"
            return [JqOutcome(ok=False, error=reason, timed_out=True) for _ in expressions]
        except (_WorkerCrashedError, BrokenPipeError):
            self._discard(worker)
            worker = None
            reason = "jq evaluation crashed (out of memory or recursion too deep)"
            return [JqOutcome(ok=False, error=reason) for _ in expressions]
        finally:
            self._idle.put(worker)
        answer = json.loads(line)
        if isinstance(answer, dict):  # the worker could not evaluate the request at all
            return [JqOutcome(ok=False, error=str(answer.get("error"))) for _ in expressions]
        return [JqOutcome(**outcome) for outcome in answer]

    def first(self, expression: str, value: Any) -> JqOutcome:
        """The first output of one expression on `value` (see `first_of_each`)."""
        return self.first_of_each([expression], value)[0]

    def _discard(self, worker: _WorkerProcess | None) -> None:
        if worker is not None:
            worker.kill()
        with self._lock:
            self.restarts += 1

    def close(self) -> None:
        """Stop every worker process."""
        self._closed = True
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return
            if worker is not None:
                worker.kill()

    def __enter__(self) -> TimeLimitedJq:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def memory_limit_for(lambda_megabytes: int | None) -> int:
    """The worker's address-space limit: 1 GiB, or a quarter of a Lambda function's memory.

    In Lambda a runaway program must fail in its worker before it exhausts the whole function.
    """
    if lambda_megabytes is not None:
        return max(_MIN_MEMORY_LIMIT_BYTES, min(DEFAULT_MEMORY_LIMIT_BYTES, (lambda_megabytes << 20) // 4))
    return DEFAULT_MEMORY_LIMIT_BYTES


def _evaluate_request(line: bytes) -> bytes:

    programs_text, _, document = line.decode().partition("\t")
    expressions: list[str] = json.loads(programs_text)
    # One jq run for the whole request; `try` keeps each expression's error its own.
    guarded = [
        f"(try {{ok: true, value: {as_field(expression)}}} catch {{ok: false, error: tostring}})"
        for expression in expressions
    ]
    try:
        outcomes = compile_program("[" + ", ".join(guarded) + "]").first_from_text(document)
    except JqCompileError:
        outcomes = [_evaluate_alone(expression, document) for expression in expressions]
    except JqRuntimeError:
        unreadable = _input_error(document)
        if unreadable is not None:
            outcomes = [{"ok": False, "error": unreadable, "input_error": True} for _ in expressions]
        else:  # an error that escaped `try`: each expression on its own says which failed
            outcomes = [_evaluate_alone(expression, document) for expression in expressions]
    encoded = json.dumps(outcomes).encode()
    if len(encoded) > MAX_RESULT_BYTES:
        too_big = {"ok": False, "error": f"jq output exceeds {MAX_RESULT_BYTES} bytes"}
        encoded = json.dumps([too_big for _ in expressions]).encode()
    return encoded + b"\n"


def _evaluate_alone(expression: str, document: str) -> dict[str, Any]:
    """One expression on its own: the slow path that tells which expression does not compile."""

    try:
        return {"ok": True, "value": compile_program(expression).first_from_text(document)}
    except JqError as error:
        return {"ok": False, "error": error.message}


def _input_error(document: str) -> str | None:
    """jq's parse error for the input document, or None when jq reads it."""
    try:
        compile_program("empty").first_from_text(document)
    except JqError as error:
        return error.message
    return None


def _answer(line: bytes) -> bytes:
    """The answer to one request line; whatever goes wrong is that request's error, not the worker's end."""
    try:
        return _evaluate_request(line)
    except Exception as error:
        reason = f"the jq worker could not evaluate this request: {type(error).__name__}: {error}"[:500]
        return json.dumps({"error": reason}).encode() + b"\n"


def _serve(memory_limit_bytes: int) -> None:

    resource.setrlimit(resource.RLIMIT_AS, (memory_limit_bytes, memory_limit_bytes))

    compile_program(".")  # imports and jq's first compile belong to starting, not to a request
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    stdout.write(_READY + b"\n")
    stdout.flush()
    for line in stdin:
        stdout.write(_answer(line))
        stdout.flush()


if __name__ == "__main__":
    _serve(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_MEMORY_LIMIT_BYTES)
