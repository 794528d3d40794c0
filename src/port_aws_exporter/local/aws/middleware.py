"""The WSGI middleware in front of moto: control routes, fault injection, our own API handlers.

Order, for every request:

1. `/_local/...` control routes (faults, reset, bulk seeding, stats) are answered here.
2. Fault injection: a matching rule may add latency and/or answer with an AWS-shaped error.
3. Guards: a call that moto would answer unlike AWS (AssumeRole of a role that does not exist,
   DescribeRegions of every partition) is answered here (`local.aws.accounts`), or passed on.
4. Target handlers: a JSON-protocol call whose `X-Amz-Target` starts with a registered prefix is
   answered by that handler (`CloudApiService.` -> the Cloud Control emulator). Later parts plug in
   here, e.g. an EventBridge handler for `AWSEvents.`.
5. Everything else goes to moto's WSGI application.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from port_aws_exporter.local.aws.aws_request import JSON, AwsRequest
from port_aws_exporter.local.aws.error_responses import error_response
from port_aws_exporter.local.aws.faults import FaultInjector
from port_aws_exporter.local.aws.http_response import HttpResponse, StartResponse

CONTROL_PREFIX = "/_local/"
_log = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
TargetHandler = Callable[[AwsRequest], HttpResponse]
# Answers a request (an error, or the whole answer), or None to let it go on.
RequestGuard = Callable[[AwsRequest], HttpResponse | None]
ControlHandler = Callable[[AwsRequest], HttpResponse]


@dataclass
class ServerStats:
    """Requests served and seconds spent serving them, per part of the server (thread-safe)."""

    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    requests: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, part: str, seconds: float) -> None:
        """Count one request served by `part`."""
        with self._lock:
            self.requests[part] = self.requests.get(part, 0) + 1
            self.seconds[part] = self.seconds.get(part, 0.0) + seconds

    def snapshot(self) -> dict[str, Any]:
        """`{"requests": {part: n}, "seconds": {part: s}, "total_requests": n, "total_seconds": s}`."""
        with self._lock:
            return {
                "requests": dict(self.requests),
                "seconds": {part: round(value, 6) for part, value in self.seconds.items()},
                "total_requests": sum(self.requests.values()),
                "total_seconds": round(sum(self.seconds.values()), 6),
            }

    def clear(self) -> None:
        """Start counting from zero."""
        with self._lock:
            self.requests.clear()
            self.seconds.clear()


class LocalAwsMiddleware:
    """The WSGI application the local endpoint serves (see the module docstring for the order)."""

    def __init__(
        self,
        moto_app: WsgiApp,
        faults: FaultInjector,
        control: ControlHandler,
        stats: ServerStats,
        *,
        log_requests: bool = False,
    ) -> None:
        self.moto_app = moto_app
        self.faults = faults
        self.control = control
        self.stats = stats
        self.log_requests = log_requests
        self._target_handlers: list[tuple[str, str, TargetHandler]] = []
        self._guards: list[tuple[str, RequestGuard]] = []

    def add_guard(self, name: str, guard: RequestGuard) -> None:
        """Let `guard` answer a request before moto does (it returns None to pass it on)."""
        self._guards.append((name, guard))

    def add_target_handler(self, prefix: str, handler: TargetHandler, *, name: str | None = None) -> None:
        """Answer JSON-protocol calls whose `X-Amz-Target` starts with `prefix` with `handler`."""
        self._target_handlers.append((prefix, name or prefix.rstrip("."), handler))

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        request = AwsRequest(environ)
        if self.log_requests:
            start_response = self._logging(request, start_response, started)
        part, response = self._answer(request)
        result = self.moto_app(environ, start_response) if response is None else response.send(start_response)
        self.stats.add(part, time.perf_counter() - started)
        return result

    @staticmethod
    def _logging(request: AwsRequest, start_response: StartResponse, started: float) -> StartResponse:
        def logged(status: str, headers: Any, *args: Any) -> Any:
            elapsed = (time.perf_counter() - started) * 1000
            where = f"{request.method} {request.path} {request.target} [{request.region}]"
            line = f"{where} -> {status} ({elapsed:.1f} ms)"
            print(line, file=sys.stderr, flush=True)
            return start_response(status, headers, *args)

        return logged

    def _answer(self, request: AwsRequest) -> tuple[str, HttpResponse | None]:
        """Which part served the request, and its response (None: pass it on to moto)."""
        if request.path.startswith(CONTROL_PREFIX):
            return "control", self.control(request)
        if self.faults.active:
            fault = self._fault(request)
            if fault is not None:
                return "faults", fault
        for name, guard in self._guards:
            answer = guard(request)
            if answer is not None:
                return name, answer
        target = request.json_target
        if target:
            for prefix, name, handler in self._target_handlers:
                if target.startswith(prefix):
                    return name, self._call_handler(handler, request)
        return "moto", None

    def _fault(self, request: AwsRequest) -> HttpResponse | None:
        decision = self.faults.decide(request)
        if decision is None:
            return None
        if decision.latency_ms:
            self.faults.wait_latency(decision.latency_ms / 1000)
        rule = decision.error
        if rule is None or rule.code is None:
            return None
        version = request.header("Content-Type").rpartition("-")[2] or "1.1"
        return error_response(request.protocol, rule.code, rule.error_message, status=rule.status, json_version=version)

    @staticmethod
    def _call_handler(handler: TargetHandler, request: AwsRequest) -> HttpResponse:
        try:
            return handler(request)
        except Exception as error:
            # A bug of ours must not become an HTTP 500: boto3 would retry it five times and hide it.
            _log.exception("local AWS handler failed on %s", request.target)
            return error_response(JSON, "GeneralServiceException", f"local endpoint error: {error!r}")
