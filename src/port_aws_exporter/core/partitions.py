"""AWS partitions: `aws`, `aws-us-gov` and `aws-cn`, and what the exporter builds differently in each.

The partition comes from the caller's own ARN (STS `GetCallerIdentity`, or the Lambda function's
ARN); every ARN the exporter builds (the member accounts' read role) and the region where global
kinds are read follow from it. The facts are checked against botocore's partition data by a test.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Partition:
    """One AWS partition.

    >>> PARTITIONS["aws-us-gov"].role_arn("111122223333", "PortAwsExporterReadRole")
    'arn:aws-us-gov:iam::111122223333:role/PortAwsExporterReadRole'
    """

    name: str
    # Region names of the partition start with one of these (`us-gov-`, `cn-`); "" matches any.
    region_prefix: str
    # Where the kinds of global services (IAM, CloudFront, Route 53) and S3's bucket list are read,
    # once per account.
    global_region: str

    def role_arn(self, account_id: str, role_name: str) -> str:
        """The ARN of an IAM role (its name may carry a path: `team/ReadRole`)."""
        return f"arn:{self.name}:iam::{account_id}:role/{role_name}"

    def owns_region(self, region: str) -> bool:
        """Whether `region` belongs to this partition."""
        return partition_of_region(region) is self


PARTITIONS: dict[str, Partition] = {
    "aws": Partition("aws", "", "us-east-1"),
    "aws-us-gov": Partition("aws-us-gov", "us-gov-", "us-gov-west-1"),
    "aws-cn": Partition("aws-cn", "cn-", "cn-north-1"),
}
DEFAULT_PARTITION = PARTITIONS["aws"]


class UnknownPartitionError(ValueError):
    """An ARN of a partition the exporter does not know."""


def partition_of_arn(arn: str) -> Partition:
    """The partition an ARN names (`arn:aws-us-gov:sts::…` → aws-us-gov)."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        raise UnknownPartitionError(f"not an ARN: {arn!r}")
    partition = PARTITIONS.get(parts[1])
    if partition is None:
        known = ", ".join(PARTITIONS)
        raise UnknownPartitionError(f"the ARN {arn!r} is in partition {parts[1]!r}; this exporter knows {known}")
    return partition


def partition_of_region(region: str) -> Partition:
    """The partition a region belongs to (`cn-north-1` → aws-cn; unknown prefixes → aws)."""
    for partition in PARTITIONS.values():
        if partition.region_prefix and region.startswith(partition.region_prefix):
            return partition
    return DEFAULT_PARTITION
