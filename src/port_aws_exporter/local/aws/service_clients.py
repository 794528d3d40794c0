"""boto3 clients on a local endpoint, made once per (endpoint, service, region, account) and reused.

Making a boto3 client costs tens of milliseconds (it loads the service model); the `local` commands
and their tests make many calls, so clients are cached. boto3 clients are thread-safe.
They sign with the same dummy credentials the demo world uses, so every call lands in moto's
default account whatever credentials the environment holds, or in the member account named (moto's
`x-moto-account-id` header, `in_account`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = ["LOCAL_CREDENTIALS", "in_account", "local_client"]

LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
_TIMEOUTS = {"connect_timeout": 5, "read_timeout": 60}


@lru_cache(maxsize=128)
def local_client(endpoint_url: str, service: str, region: str, account_id: str | None = None) -> Any:
    """A boto3 client for `service` in `region` on the local endpoint at `endpoint_url` (in the
    member account `account_id`; None: the endpoint's default account)."""
    import boto3
    from botocore.config import Config

    client = boto3.session.Session().client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        config=Config(retries={"mode": "standard", "total_max_attempts": 3}, **_TIMEOUTS),
        **LOCAL_CREDENTIALS,
    )
    return client if account_id is None else in_account(client, account_id)


def in_account(client: Any, account_id: str) -> Any:
    """Make every call of a boto3 client on the local endpoint land in `account_id` (moto's
    `x-moto-account-id` header): how the local stack seeds and changes member accounts."""

    def add_header(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account_id

    client.meta.events.register("before-send.*.*", add_header)
    return client
