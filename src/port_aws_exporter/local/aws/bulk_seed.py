"""Bulk seeding: write many resources straight into moto's backends, in the server's process.

Creating 50,000 Lambda functions through the Lambda API costs 50,000 HTTP round trips; written
directly into moto's backend they take seconds. The resources are the same objects the Lambda API
would have created, so every API (and Cloud Control) sees them.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from port_aws_exporter.core.partitions import partition_of_region
from port_aws_exporter.local.aws.resource_defaults import assume_role_policy, zipped_source

BULK_ROLE_NAME = "local-bulk-lambda-role"


@dataclass(frozen=True)
class BulkLambdaSpec:
    """What `bulk_create_lambda_functions` creates: `count` functions named `{prefix}-{n:05d}`."""

    count: int
    region: str = "us-east-1"
    prefix: str = "bulk-fn"
    start: int = 0
    runtime: str = "python3.12"
    memory_size: int = 128
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.count < 0 or self.start < 0:
            raise ValueError(f"count ({self.count}) and start ({self.start}) must not be negative")
        if not 128 <= self.memory_size <= 10240:
            raise ValueError(f"memory_size {self.memory_size} is outside Lambda's 128..10240 MB")

    def name(self, index: int) -> str:
        """The function name for the index-th function."""
        return f"{self.prefix}-{index:05d}"


@cache
def _tiny_code_zip() -> str:
    return base64.b64encode(zipped_source("def handler(event, context):\n    return event\n")).decode()


def _bulk_role_arn(account_id: str, region: str) -> str:
    from moto.iam.models import iam_backends

    iam = iam_backends[account_id][partition_of_region(region).name]
    for role in list(iam.roles.values()):
        if role.name == BULK_ROLE_NAME:
            return str(role.arn)
    role = iam.create_role(
        BULK_ROLE_NAME, assume_role_policy("lambda.amazonaws.com"), "/", None, "Role of bulk-seeded functions", [], None
    )
    return str(role.arn)


def bulk_create_lambda_functions(account_id: str, spec: BulkLambdaSpec) -> list[str]:
    """Create `spec.count` Lambda functions in moto's backend; returns their names in order.

    Existing functions with the same names are replaced (moto's create does the same in-process).
    """
    from moto.awslambda.models import lambda_backends

    backend = lambda_backends[account_id][spec.region]
    role_arn = _bulk_role_arn(account_id, spec.region)
    code = _tiny_code_zip()
    names = []
    for index in range(spec.start, spec.start + spec.count):
        name = spec.name(index)
        backend.create_function(
            {
                "FunctionName": name,
                "Role": role_arn,
                "Runtime": spec.runtime,
                "Handler": "index.handler",
                "MemorySize": spec.memory_size,
                "Code": {"ZipFile": code},
                "Tags": dict(spec.tags),
            }
        )
        names.append(name)
    return names
