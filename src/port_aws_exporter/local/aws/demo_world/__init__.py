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
from port_aws_exporter.local.aws.demo_world.seed_record import RegionRecord, read_record, write_record
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
        on every fresh endpoint. Seeding again creates nothing new: a region seeded before (its record,
    `demo_world.seed_record`) is skipped and its resources come back in the summary
    (`summary.already_seeded` names those regions); a larger `resources` adds only the difference.
        `account_id` seeds another account than the endpoint's default one, its names starting with
        `prefix` instead of `demo` (unique across an organisation).
    """
    if not regions:
        raise ValueError("seed_demo_world needs at least one region")
    if resources is not None and resources < 0:
        raise ValueError(f"resources must not be negative, got {resources}")
    summary = SeedSummary(endpoint_url=endpoint_url, regions=list(regions))
    seeders = [RegionSeeder(endpoint_url, region, summary, account_id, prefix) for region in regions]
    step = "reading what was seeded before"
    try:
        earlier = {seeder.region: read_record(seeder) for seeder in seeders}
        if random_seed is not None and not any(earlier.values()):
            _post(endpoint_url, f"/moto-api/seed?a={random_seed}")
        step = "IAM roles"
        roles = seed_iam(seeders[0], summary)
        records: dict[str, RegionRecord] = {}
        for seeder in seeders:
            step = f"region {seeder.region}"
            records[seeder.region] = _seed_region_once(seeder, roles, earlier[seeder.region])
    except Exception as error:
        raise SeedError(f"seeding the demo world failed at {step}: {error}") from error
    _seed_bulk_functions(seeders, records, resources, account_id)
    return summary


def _seed_region_once(seeder: RegionSeeder, roles: dict[str, str], record: RegionRecord | None) -> RegionRecord:
    """Seed the region unless its record says it was; either way the summary gets its resources."""
    summary = seeder.summary
    if record is not None:
        summary.already_seeded.append(seeder.region)
        for kind, names in record.resources.items():
            summary.extend(kind, seeder.region, names)
        summary.subscriptions.update(record.subscriptions)
        return record
    topics_before = set(summary.subscriptions)
    _seed_region(seeder, roles)
    record = RegionRecord(
        resources={
            kind: list(by_region[seeder.region])
            for kind, by_region in summary.resources.items()
            if seeder.region in by_region
        },
        subscriptions={topic: queues for topic, queues in summary.subscriptions.items() if topic not in topics_before},
    )
    write_record(seeder, record)
    return record


def _seed_bulk_functions(
    seeders: list[RegionSeeder], records: dict[str, RegionRecord], resources: int | None, account_id: str | None
) -> None:
    """Lambda functions up to `resources` in all, spread over the regions; those of an earlier run
    count, and new ones are numbered after them."""
    summary = seeders[0].summary
    for seeder in seeders:
        summary.extend(BULK_KIND, seeder.region, _bulk_names(seeder, 0, records[seeder.region].bulk_functions))
    missing = (resources or 0) - summary.count()
    for position, seeder in enumerate(seeders if missing > 0 else []):
        count = missing // len(seeders) + (1 if position < missing % len(seeders) else 0)
        record = records[seeder.region]
        if count == 0:
            continue
        _post(
            seeder.endpoint_url,
            "/_local/bulk/lambda-functions",
            {
                "count": count,
                "start": record.bulk_functions,
                "region": seeder.region,
                "prefix": _bulk_prefix(seeder),
                "tags": {"env": "demo", "app": "bulk"},
            },
            account_id,
        )
        summary.extend(BULK_KIND, seeder.region, _bulk_names(seeder, record.bulk_functions, count))
        record.bulk_functions += count
        write_record(seeder, record)
    if any(record.bulk_functions for record in records.values()):
        summary.add("AWS::IAM::Role", GLOBAL, BULK_ROLE_NAME)


def _bulk_names(seeder: RegionSeeder, start: int, count: int) -> list[str]:
    return [f"{_bulk_prefix(seeder)}-{index:05d}" for index in range(start, start + count)]


def _bulk_prefix(seeder: RegionSeeder) -> str:
    return f"{seeder.prefix}-bulk-{seeder.region}"
