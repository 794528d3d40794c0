"""boto3 clients on a local endpoint, made once per (endpoint, service, region) and reused.

Making a boto3 client costs tens of milliseconds (it loads the service model); the `local` commands
and their tests make many calls, so clients are cached. boto3 clients are thread-safe.
They sign with the same dummy credentials the demo world uses, so every call lands in moto's
default account whatever credentials the environment holds.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = ["LOCAL_CREDENTIALS", "local_client"]

LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
_TIMEOUTS = {"connect_timeout": 5, "read_timeout": 60}


@lru_cache(maxsize=128)
def local_client(endpoint_url: str, service: str, region: str) -> Any:
    """A boto3 client for `service` in `region` on the local endpoint at `endpoint_url`."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        config=Config(retries={"mode": "standard", "total_max_attempts": 3}, **_TIMEOUTS),
        **LOCAL_CREDENTIALS,
    )
