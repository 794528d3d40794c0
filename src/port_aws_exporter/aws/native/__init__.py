"""Native fetchers for the kinds where Cloud Control falls short.

They produce the SDK describe-call shapes that Port's example mappings expect (`.State.Name`,
`.Listeners`, `.StackResources`…), as the original exporter's special handlers did, but each reads
in the region it was asked for (the original read ELB and ElastiCache items from the default
region) and raises on failure instead of hiding it.
"""

from __future__ import annotations

from collections.abc import Callable

from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.native.acm import AcmCertificateFetcher
from port_aws_exporter.aws.native.cloudformation import CloudFormationStackFetcher
from port_aws_exporter.aws.native.ec2 import Ec2InstanceFetcher
from port_aws_exporter.aws.native.elasticache import CacheClusterFetcher
from port_aws_exporter.aws.native.elbv2 import LoadBalancerFetcher
from port_aws_exporter.aws.native.organizations import OrganizationAccountFetcher
from port_aws_exporter.core.fetching import ResourceFetcher
from port_aws_exporter.core.kinds.registry import FetcherName, KindSpec

NATIVE_FETCHERS: dict[FetcherName, Callable[[KindSpec, AwsClients], ResourceFetcher]] = {
    FetcherName.EC2_INSTANCE: Ec2InstanceFetcher,
    FetcherName.ELBV2_LOAD_BALANCER: LoadBalancerFetcher,
    FetcherName.ACM_CERTIFICATE: AcmCertificateFetcher,
    FetcherName.CLOUDFORMATION_STACK: CloudFormationStackFetcher,
    FetcherName.ELASTICACHE_CACHE_CLUSTER: CacheClusterFetcher,
    FetcherName.ORGANIZATIONS_ACCOUNT: OrganizationAccountFetcher,
}
