"""Resolve which installation (account, region) this process is, the same way everywhere, and the
caller's partition.

In Lambda the account and partition come from the invoked function ARN and the region from
`AWS_REGION`; the CLI and the worker ask STS `GetCallerIdentity` (whose ARN names the partition)
and take the session's region. A Lambda, a CLI run and a worker of one deployment therefore share
one User-Agent and own the same entities.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from port_aws_exporter.core.installation import Installation
from port_aws_exporter.core.partitions import Partition, partition_of_arn

DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class CallerIdentity:
    """Who the exporter's own credentials are: its installation, its ARN and its partition."""

    installation: Installation
    arn: str
    partition: Partition


def resolve_installation(session: Any, lambda_context: Any | None = None) -> Installation:
    """The installation for a boto3 session, or for the Lambda invocation when a context is given.

    `session` is a `boto3.Session`; `lambda_context` is the handler's context object (only its
    `invoked_function_arn` is read).
    """
    return resolve_identity(session, lambda_context).installation


def resolve_identity(session: Any, lambda_context: Any | None = None) -> CallerIdentity:
    """The caller's installation, ARN and partition (see `resolve_installation`)."""
    if lambda_context is not None:
        return _from_lambda_context(lambda_context)
    region = session.region_name or DEFAULT_REGION
    sts = session.client("sts", region_name=region)
    identity = sts.get_caller_identity()
    arn = str(identity["Arn"])
    return CallerIdentity(Installation(str(identity["Account"]), region), arn, partition_of_arn(arn))


def _from_lambda_context(lambda_context: Any) -> CallerIdentity:
    arn = str(lambda_context.invoked_function_arn)
    parts = arn.split(":")
    # arn:partition:lambda:region:account:function:name[:alias]
    if len(parts) < 7 or parts[0] != "arn" or parts[2] != "lambda":
        raise ValueError(f"not a Lambda function ARN: {arn!r}")
    region = os.environ.get("AWS_REGION") or parts[3]
    return CallerIdentity(Installation(account_id=parts[4], region=region), arn, partition_of_arn(arn))
