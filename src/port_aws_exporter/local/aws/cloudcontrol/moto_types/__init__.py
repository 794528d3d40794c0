"""CloudFormation types read from moto's backends; importing this package registers all of them."""

from port_aws_exporter.local.aws.cloudcontrol.moto_types import compute, identity, messaging, storage
from port_aws_exporter.local.aws.cloudcontrol.moto_types.base import (
    MOTO_RESOURCE_TYPES,
    MotoResourceType,
    SourceContext,
    moto_resource_type,
)

__all__ = [
    "MOTO_RESOURCE_TYPES",
    "MotoResourceType",
    "SourceContext",
    "compute",
    "identity",
    "messaging",
    "moto_resource_type",
    "storage",
]
