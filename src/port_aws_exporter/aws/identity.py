"""Resolve which installation (account, region) this process is, the same way everywhere.

In Lambda the account comes from the invoked function ARN and the region from `AWS_REGION`; the
CLI and the worker ask STS `GetCallerIdentity` and take the session's region. A Lambda, a CLI run
and a worker of one deployment therefore share one User-Agent and own the same entities.
"""

from __future__ import annotations

import os
from typing import Any

from port_aws_exporter.core.installation import Installation

DEFAULT_REGION = "us-east-1"


def resolve_installation(session: Any, lambda_context: Any | None = None) -> Installation:
    """The installation for a boto3 session, or for the Lambda invocation when a context is given.

    `session` is a `boto3.Session`; `lambda_context` is the handler's context object (only its
    `invoked_function_arn` is read).
    """
    if lambda_context is not None:
        return _from_lambda_context(lambda_context)
    region = session.region_name or DEFAULT_REGION
    sts = session.client("sts", region_name=region)
    account_id = str(sts.get_caller_identity()["Account"])
    return Installation(account_id=account_id, region=region)


def _from_lambda_context(lambda_context: Any) -> Installation:
    arn = str(lambda_context.invoked_function_arn)
    parts = arn.split(":")
    # arn:partition:lambda:region:account:function:name[:alias]
    if len(parts) < 7 or parts[0] != "arn" or parts[2] != "lambda":
        raise ValueError(f"not a Lambda function ARN: {arn!r}")
    region = os.environ.get("AWS_REGION") or parts[3]
    return Installation(account_id=parts[4], region=region)
