"""The local stack as the benchmarks run it: the local AWS endpoint and the local catalog in their
own processes, the environment a sync child or an in-process Lambda handler sees, and a child
process that reports its figures as one JSON line.

    with local_stack(workdir / "catalog.db", secret="s") as (aws, catalog):
        figures = run_json_child(CHILD, [config, "bench", "s", catalog.url], sync_environment(aws.url))
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import httpx

from served_process import ServedProcess, served

CHILD_TIMEOUT_SECONDS = 3600


def clean_environment() -> dict[str, str]:
    """This process's environment without AWS or Port settings (the benchmark sets its own)."""
    return {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "PORT_"))}


def sync_environment(aws_url: str, region: str = "us-east-1") -> dict[str, str]:
    """The environment of a sync child: the local AWS endpoint, with dummy credentials."""
    return {
        **clean_environment(),
        "AWS_ENDPOINT_URL": aws_url,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": region,
    }


def local_clients(aws_url: str, names: Sequence[str], region: str = "us-east-1") -> dict[str, Any]:
    """boto3 clients of the local AWS endpoint, by service name, with a sync child's dummy credentials."""
    environment = sync_environment(aws_url, region)
    session = boto3.Session(
        aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
        region_name=region,
    )
    return {name: session.client(name, endpoint_url=aws_url) for name in names}


def lambda_environment(
    aws_url: str, catalog_url: str, config: Path, *, client: tuple[str, str], region: str, log_level: str
) -> dict[str, str]:
    """The settings an in-process Lambda handler reads (the deployed function's environment)."""
    client_id, secret = client
    return {
        "AWS_ENDPOINT_URL": aws_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "PORT_CLIENT_ID": client_id,
        "PORT_CLIENT_SECRET": secret,
        "PORT_API_URL": catalog_url,
        "PORT_AWS_EXPORTER_CONFIG": str(config),
        "LOG_LEVEL": log_level,
    }


@contextmanager
def local_stack(
    db: Path, *, client_id: str = "bench", secret: str = "bench-secret", environment: Mapping[str, str] | None = None
) -> Iterator[tuple[ServedProcess, ServedProcess]]:
    """The local AWS endpoint and a local catalog over `db` that admits `client_id`/`secret`."""
    base = dict(environment) if environment is not None else clean_environment()
    catalog_env = {**base, "PORT_CLIENT_ID": client_id, "PORT_CLIENT_SECRET": secret}
    with (
        served(["local", "aws", "--port", "0"], base) as aws,
        served(["catalog", "serve", "--db", str(db), "--port", "0"], catalog_env) as catalog,
    ):
        yield aws, catalog


def catalog_headers(catalog_url: str, client_id: str = "bench", secret: str = "bench-secret") -> dict[str, str]:
    """An authorization header for the local catalog's API."""
    token = httpx.post(
        f"{catalog_url}/v1/auth/access_token", json={"clientId": client_id, "clientSecret": secret}, timeout=30
    )
    token.raise_for_status()
    return {"Authorization": f"Bearer {token.json()['accessToken']}"}


def seed_lambda_functions(aws_url: str, account: str | None, count: int, prefix: str, regions: Sequence[str]) -> None:
    """`count` Lambda functions in each of `regions` of `account` (None: the endpoint's default account)."""
    headers = {"x-moto-account-id": account} if account is not None else {}
    for region in regions:
        body = {"count": count, "region": region, "prefix": f"{prefix}-{region}"}
        response = httpx.post(f"{aws_url}/_local/bulk/lambda-functions", json=body, headers=headers, timeout=900)
        response.raise_for_status()


def seed_lambda_organization(aws_url: str, accounts: int, functions: int, regions: Sequence[str]) -> None:
    """An organisation of `accounts` accounts (the management account and members with the read
    role), `functions` Lambda functions in each of `regions` of every one."""
    from port_aws_exporter.local.aws import seed_organization  # noqa: PLC0415 (the local extra, for benchmarks only)

    organization = seed_organization(aws_url, members=accounts - 1)
    seed_lambda_functions(aws_url, None, functions, "bench-home", regions)
    for member in organization.members:
        seed_lambda_functions(aws_url, member.account_id, functions, f"bench-{member.name}", regions)


def run_json_child(code: str, arguments: list[str], environment: Mapping[str, str]) -> dict[str, Any]:
    """Run `python -c code arguments…`; its last stdout line, as JSON (its stderr's tail on failure)."""
    result = subprocess.run(
        [sys.executable, "-c", code, *arguments],
        env=dict(environment),
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the benchmark child failed: {result.stderr[-2000:]}")
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures
