"""The demo world: a small, realistic AWS account seeded into the local endpoint through the service APIs.

Per region: Lambda functions (two with a shared layer), S3 buckets, DynamoDB tables, SQS queues
(one with a dead-letter queue) and SNS topics subscribed to them, an ECS cluster with Fargate
services and an ECR repository, EC2 instances, an application load balancer with HTTP and HTTPS
listeners, an ACM certificate, an ElastiCache cluster and a CloudFormation stack; plus two IAM
roles for the account. Everything is tagged and named deterministically (`demo-<what>-<region>`).

`resources=N` asks for at least N resources in total: when the core world is smaller, the rest are
Lambda functions (`demo-bulk-<region>-00000`...) written straight into moto through the endpoint's
bulk route, so 50,000 resources take seconds, not an hour of HTTP calls.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from port_aws_exporter.local.aws.bulk_seed import BULK_ROLE_NAME
from port_aws_exporter.local.aws.demo_world.app_resources import (
    ECS_TASK_ROLE,
    LAMBDA_ROLE,
    seed_dynamodb,
    seed_iam,
    seed_lambda,
    seed_messaging,
    seed_s3,
)
from port_aws_exporter.local.aws.demo_world.context import RegionSeeder
from port_aws_exporter.local.aws.demo_world.platform_resources import (
    find_network,
    seed_cache,
    seed_certificate,
    seed_containers,
    seed_instances,
    seed_load_balancer,
    seed_stack,
)
from port_aws_exporter.local.aws.demo_world.summary import GLOBAL, SeedSummary

__all__ = ["DEFAULT_REGIONS", "SeedError", "SeedSummary", "seed_demo_world"]

DEFAULT_REGIONS = ("us-east-1", "eu-west-1")
DEFAULT_RANDOM_SEED = 5
BULK_KIND = "AWS::Lambda::Function"
_HTTP_TIMEOUT = 600.0


class SeedError(RuntimeError):
    """Seeding failed; the message says which step, in which region, and why."""


def _seed_region(seeder: RegionSeeder, roles: dict[str, str]) -> None:
    network = find_network(seeder)
    seed_lambda(seeder, roles[LAMBDA_ROLE])
    seed_s3(seeder)
    seed_dynamodb(seeder)
    seed_messaging(seeder)
    seed_instances(seeder, network)
    certificate_arn = seed_certificate(seeder)
    target_group_arn = seed_load_balancer(seeder, network, certificate_arn)
    seed_containers(seeder, network, target_group_arn, roles[ECS_TASK_ROLE])
    seed_cache(seeder)
    seed_stack(seeder)


def _post(
    endpoint_url: str, path: str, payload: dict[str, object] | None = None, account_id: str | None = None
) -> dict[str, object]:
    headers = {"x-moto-account-id": account_id} if account_id is not None else {}
    try:
        response = httpx.post(f"{endpoint_url.rstrip('/')}{path}", json=payload, headers=headers, timeout=_HTTP_TIMEOUT)
        response.raise_for_status()
    except httpx.HTTPError as error:
        raise SeedError(f"POST {path} on the local endpoint {endpoint_url} failed: {error}") from error
    try:
        result = response.json()
    except ValueError:
        return {}
    return result if isinstance(result, dict) else {}


def seed_demo_world(
    endpoint_url: str,
    *,
    resources: int | None = None,
    regions: Sequence[str] = DEFAULT_REGIONS,
    random_seed: int | None = DEFAULT_RANDOM_SEED,
    account_id: str | None = None,
    prefix: str = "demo",
) -> SeedSummary:
    """Create the demo world in the local endpoint at `endpoint_url`; returns what was created.

    `random_seed` seeds moto's id generator first, so generated ids (EC2 instance ids...) are the same
    on every fresh endpoint. Seed an empty endpoint: names are fixed, so seeding twice fails.
    `account_id` seeds another account than the endpoint's default one, its names starting with
    `prefix` instead of `demo` (unique across an organisation).
    """
    if not regions:
        raise ValueError("seed_demo_world needs at least one region")
    if resources is not None and resources < 0:
        raise ValueError(f"resources must not be negative, got {resources}")
    summary = SeedSummary(endpoint_url=endpoint_url, regions=list(regions))
    if random_seed is not None:
        _post(endpoint_url, f"/moto-api/seed?a={random_seed}")
    seeders = [RegionSeeder(endpoint_url, region, summary, account_id, prefix) for region in regions]
    step = "IAM roles"
    try:
        roles = seed_iam(seeders[0], summary)
        for seeder in seeders:
            step = f"region {seeder.region}"
            _seed_region(seeder, roles)
    except Exception as error:
        raise SeedError(f"seeding the demo world failed at {step}: {error}") from error
    _seed_bulk_functions(endpoint_url, summary, resources, account_id, prefix)
    return summary


def _seed_bulk_functions(
    endpoint_url: str, summary: SeedSummary, resources: int | None, account_id: str | None, name_prefix: str
) -> None:
    missing = (resources or 0) - summary.count()
    if missing <= 0:
        return
    regions = summary.regions
    for position, region in enumerate(regions):
        count = missing // len(regions) + (1 if position < missing % len(regions) else 0)
        if count == 0:
            continue
        prefix = f"{name_prefix}-bulk-{region}"
        _post(
            endpoint_url,
            "/_local/bulk/lambda-functions",
            {"count": count, "region": region, "prefix": prefix, "tags": {"env": "demo", "app": "bulk"}},
            account_id,
        )
        summary.extend(BULK_KIND, region, [f"{prefix}-{index:05d}" for index in range(count)])
    summary.add("AWS::IAM::Role", GLOBAL, BULK_ROLE_NAME)
