"""The per-region context the demo world's builders share: clients, tags, the summary."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from port_aws_exporter.local.aws.demo_world.summary import SeedSummary

# The demo world is seeded with fixed dummy credentials: moto serves them from its default account.
DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
COMMON_TAGS = {"env": "demo", "managed-by": "port-aws-exporter"}


@cache
def handler_zip() -> bytes:
    """A tiny deployment package for every demo function."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return {'ok': True}\n")
    return buffer.getvalue()


@dataclass
class RegionSeeder:
    """Everything a builder needs to create resources in one region."""

    endpoint_url: str
    region: str
    summary: SeedSummary
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """A boto3 client for `service` in this region, pointed at the local endpoint (cached)."""
        if service not in self._clients:
            import boto3
            from botocore.config import Config

            self._clients[service] = boto3.client(
                service,
                region_name=self.region,
                endpoint_url=self.endpoint_url,
                config=Config(retries={"mode": "standard", "total_max_attempts": 5}),
                **DUMMY_CREDENTIALS,
            )
        return self._clients[service]

    def name(self, base: str) -> str:
        """A region-qualified demo name: `demo-orders-us-east-1` (unique across the account)."""
        return f"demo-{base}-{self.region}"

    @staticmethod
    def tags(app: str, **extra: str) -> dict[str, str]:
        """The demo tags of one application, as a dict."""
        return {**COMMON_TAGS, "app": app, **extra}

    @staticmethod
    def tag_list(tags: dict[str, str], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
        """Tags as a list of pairs, with the key names the service wants."""
        return [{key: k, value: v} for k, v in tags.items()]
