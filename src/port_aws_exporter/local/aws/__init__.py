"""The local AWS endpoint: moto for every service it has, our Cloud Control emulator, fault injection
and a demo world.

    from port_aws_exporter.local.aws import start_local_aws, seed_demo_world

    with start_local_aws() as aws:              # aws.url -> AWS_ENDPOINT_URL
        summary = seed_demo_world(aws.url, regions=["us-east-1", "eu-west-1"])
        aws.faults.fail("CloudApiService.GetResource", code="ThrottlingException", count=2)
"""

from port_aws_exporter.local.aws.bulk_seed import BulkLambdaSpec
from port_aws_exporter.local.aws.demo_world import SeedError, SeedSummary, seed_demo_world
from port_aws_exporter.local.aws.faults import FaultInjector, FaultRule
from port_aws_exporter.local.aws.server import RunningLocalAws, start_local_aws

__all__ = [
    "BulkLambdaSpec",
    "FaultInjector",
    "FaultRule",
    "RunningLocalAws",
    "SeedError",
    "SeedSummary",
    "seed_demo_world",
    "start_local_aws",
]
