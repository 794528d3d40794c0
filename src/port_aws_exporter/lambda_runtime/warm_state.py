"""What a warm Lambda function keeps between invocations: boto3 clients, Port clients (and so their
tokens), the jq worker process.

The handlers of `port_aws_exporter.handler` share one `WarmState`; tests and benchmarks build their own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from port_aws_exporter.aws.account_sessions import AccountSessions, RoleSettings
from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.identity import CallerIdentity
from port_aws_exporter.core.installation import Installation
from port_aws_exporter.core.jq.worker import TimeLimitedJq
from port_aws_exporter.lambda_runtime import settings
from port_aws_exporter.port import PortClient, PortCredentials


@dataclass
class WarmState:
    """What a warm Lambda keeps between invocations."""

    _clients: AwsClients | None = None
    _port: dict[tuple[Any, ...], PortClient] = field(default_factory=dict)
    _evaluator: TimeLimitedJq | None = None
    _sessions: dict[tuple[Any, ...], AccountSessions] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def shared(cls) -> WarmState:
        """The process's one warm state, which the deployed handlers share."""
        return _SHARED

    def clients(self) -> AwsClients:
        with self._lock:
            if self._clients is None:
                self._clients = AwsClients()
            return self._clients

    def port_client(self, credentials: PortCredentials, installation: Installation, **options: Any) -> PortClient:
        """The warm Port client for these credentials; `options` are `PortClient`'s (retries, timeout)."""
        with self._lock:
            key = (credentials, installation, *sorted(options.items()))
            if key not in self._port:
                # Every client of the process shares one budget of Port requests (`port.budget`).
                limit = settings.port_max_requests_per_minute()
                self._port[key] = PortClient(credentials, installation, max_requests_per_minute=limit, **options)
            return self._port[key]

    def port_retry_counts(self) -> tuple[int, int]:
        """Requests the warm Port clients retried so far, and how many of those were throttled (429)."""
        with self._lock:
            counters = [client.counters for client in self._port.values()]
        return sum(c.retries for c in counters), sum(c.throttled for c in counters)

    def account_sessions(self, caller: CallerIdentity, role: RoleSettings) -> AccountSessions:
        """The warm sessions of the accounts (assumed roles kept until they near expiry), shared by
        the full sync and the event path of this function."""
        clients = self.clients()
        with self._lock:
            key = (caller, role)
            if key not in self._sessions:
                self._sessions[key] = AccountSessions(clients, caller, role)
            return self._sessions[key]

    def evaluator(self) -> TimeLimitedJq:
        """The warm sandboxed jq that evaluates event messages (its worker process stays up)."""
        with self._lock:
            if self._evaluator is None:
                self._evaluator = TimeLimitedJq(memory_limit_bytes=settings.jq_memory_limit_bytes())
            return self._evaluator

    def reset(self) -> None:
        """Forget everything (tests; a changed environment)."""
        with self._lock:
            for client in self._port.values():
                client.close()
            self._port.clear()
            self._sessions.clear()
            self._clients = None
            if self._evaluator is not None:
                self._evaluator.close()
                self._evaluator = None


_SHARED = WarmState()
