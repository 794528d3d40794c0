"""boto3 clients, one per (service, region), shared by every thread of the exporter.

botocore's adaptive retry mode backs off on throttling and rate-limits the client itself, so a
full sync that fans out across threads slows down instead of failing. Clients are created once and
reused (a warm Lambda keeps them); creating clients from one boto3 session is not thread-safe, so
creation is serialised.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

DEFAULT_MAX_ATTEMPTS = 10
DEFAULT_CONNECT_TIMEOUT = 5
DEFAULT_READ_TIMEOUT = 30


class AwsClients:
    """A cache of boto3 clients with the exporter's retry and timeout settings.

    The endpoint comes from boto3's own configuration, so `AWS_ENDPOINT_URL` points every service
    at a local AWS endpoint.
    """

    def __init__(
        self,
        session: boto3.Session | None = None,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        retry_mode: str = "adaptive",
        max_pool_connections: int = 20,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> None:
        self.session = session or boto3.Session()
        self._options: dict[str, Any] = {
            "max_attempts": max_attempts,
            "retry_mode": retry_mode,
            "max_pool_connections": max_pool_connections,
            "read_timeout": read_timeout,
        }
        self._config = Config(
            retries={"mode": retry_mode, "total_max_attempts": max_attempts},
            max_pool_connections=max_pool_connections,
            connect_timeout=DEFAULT_CONNECT_TIMEOUT,
            read_timeout=read_timeout,
        )
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def with_session(self, session: boto3.Session) -> AwsClients:
        """Clients with these settings on another session (another account's credentials)."""
        return AwsClients(session, **self._options)

    def client(self, service: str, region: str) -> Any:
        """The shared client of `service` in `region`."""
        key = (service, region)
        client = self._clients.get(key)
        if client is None:
            with self._lock:
                client = self._clients.get(key)
                if client is None:
                    client = self.session.client(service, region_name=region, config=self._config)
                    self._clients[key] = client
        return client

    @property
    def default_region(self) -> str:
        """The session's region (AWS_REGION / AWS_DEFAULT_REGION / profile), else us-east-1."""
        return self.session.region_name or "us-east-1"


def config_s3_client(source: object) -> Any | None:
    """An S3 client (boto3's default credentials and region) when a config is an `s3://` URL, else None:
    what `core.config.load_config` needs to read it."""
    if isinstance(source, str) and source.startswith("s3://"):
        return boto3.client("s3")
    return None
