"""The local AWS endpoint: moto for every service it has, our Cloud Control emulator, EventBridge as
AWS runs it, fault injection and a demo world.

    from port_aws_exporter.local.aws import deploy_rule_template, make_change, seed_demo_world, start_local_aws

    with start_local_aws() as aws:              # aws.url -> AWS_ENDPOINT_URL
        summary = seed_demo_world(aws.url, regions=["us-east-1", "eu-west-1"])
        aws.faults.fail("CloudApiService.GetResource", code="ThrottlingException", count=2)
        deployed = deploy_rule_template(aws.url, "lambda.rule.yaml", "port-aws-exporter-events")
        make_change(aws.url, "AWS::Lambda::Function", "delete", "demo-orders-api-us-east-1")
        aws.eventbridge.rule(deployed.names[0])  # MatchedEvents, Invocations, FailedInvocations
"""

from port_aws_exporter.local.aws.bulk_seed import BulkLambdaSpec
from port_aws_exporter.local.aws.changes import ChangeError, ChangeResult, make_change
from port_aws_exporter.local.aws.demo_world import SeedError, SeedSummary, seed_demo_world
from port_aws_exporter.local.aws.faults import FaultInjector, FaultRule
from port_aws_exporter.local.aws.organization_seed import (
    OrganizationSummary,
    SeededAccount,
    seed_organization,
    seed_organization_worlds,
)
from port_aws_exporter.local.aws.rule_deployment import (
    DeployedRule,
    DeployedRules,
    RuleDeploymentError,
    deploy_rule_template,
)
from port_aws_exporter.local.aws.server import RunningLocalAws, start_local_aws

__all__ = [
    "BulkLambdaSpec",
    "ChangeError",
    "ChangeResult",
    "DeployedRule",
    "DeployedRules",
    "FaultInjector",
    "FaultRule",
    "OrganizationSummary",
    "RuleDeploymentError",
    "RunningLocalAws",
    "SeedError",
    "SeedSummary",
    "SeededAccount",
    "deploy_rule_template",
    "make_change",
    "seed_demo_world",
    "seed_organization",
    "seed_organization_worlds",
    "start_local_aws",
]
