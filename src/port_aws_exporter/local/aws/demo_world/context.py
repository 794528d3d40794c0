"""The per-region context the demo world's builders share: clients, tags, the summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from port_aws_exporter.local.aws.demo_world.summary import SeedSummary
from port_aws_exporter.local.aws.service_clients import LOCAL_CREDENTIALS, in_account

COMMON_TAGS = {"env": "demo", "managed-by": "port-aws-exporter"}


@dataclass
class RegionSeeder:
    """Everything a builder needs to create resources in one region."""

    endpoint_url: str
    region: str
    summary: SeedSummary
    # Whose resources: the local endpoint's default account, or a member account (by the
    # `x-moto-account-id` header moto honours); names start with `prefix`.
    account_id: str | None = None
    prefix: str = "demo"
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """A boto3 client for `service` in this region, pointed at the local endpoint (cached)."""
        if service not in self._clients:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                service,
                region_name=self.region,
                endpoint_url=self.endpoint_url,
                config=Config(retries={"mode": "standard", "total_max_attempts": 5}),
                **LOCAL_CREDENTIALS,
            )
            if self.account_id is not None:
                in_account(client, self.account_id)
            self._clients[service] = client
        return self._clients[service]

    def name(self, base: str) -> str:
        """A region-qualified demo name: `demo-orders-us-east-1` (unique across the account; the
        prefix of a member account keeps it unique across the organisation)."""
        return f"{self.prefix}-{base}-{self.region}"

    @staticmethod
    def tags(app: str, **extra: str) -> dict[str, str]:
        """The demo tags of one application, as a dict."""
        return {**COMMON_TAGS, "app": app, **extra}
