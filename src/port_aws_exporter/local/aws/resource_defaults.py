"""What the local tools build resources from: a handler package, a trust policy, the AMI, tag lists.

The demo world, `local change`, bulk seeding and the Cloud Control emulator all create Lambda
functions, IAM roles or EC2 instances; they take these pieces from here, so a resource looks the
same whichever tool made it.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

__all__ = [
    "AMI_QUERY",
    "FALLBACK_AMI",
    "assume_role_policy",
    "handler_zip",
    "image_id",
    "tag_pairs",
    "zipped_source",
]

_HANDLER_SOURCE = "def handler(event, context):\n    return {'ok': True}\n"
# DescribeImages parameters: filtered, since serializing all of moto's ~1,300 default AMIs costs seconds.
AMI_QUERY: dict[str, Any] = {
    "Owners": ["amazon"],
    "Filters": [{"Name": "name", "Values": ["amzn2-ami-hvm-*-x86_64-gp2"]}],
}
FALLBACK_AMI = "ami-12c6146b"  # when moto was told not to load its default AMIs


def zipped_source(source: str, filename: str = "index.py") -> bytes:
    """A zip archive holding one source file: a Lambda deployment package."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(filename, source)
    return buffer.getvalue()


@cache
def handler_zip() -> bytes:
    """The tiny deployment package of the functions the local tools create."""
    return zipped_source(_HANDLER_SOURCE)


def assume_role_policy(service: str) -> str:
    """The trust policy (JSON text) of a role that `service` (`lambda.amazonaws.com`) may assume."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def image_id(images: Sequence[Mapping[str, Any]]) -> str:
    """The AMI to launch, from the images `AMI_QUERY` found: the first by id, else `FALLBACK_AMI`."""
    return str(sorted(image["ImageId"] for image in images)[0]) if images else FALLBACK_AMI


def tag_pairs(tags: Mapping[str, str], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    """`{"k": "v"}` as `[{"Key": "k", "Value": "v"}]`, with the member names the service wants."""
    return [{key: k, value: v} for k, v in tags.items()]
