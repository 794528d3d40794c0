"""The Cloud Control API emulator: moto-backed types translated to CloudFormation shapes, plus a
generic store for every other CloudFormation schema type."""

from port_aws_exporter.local.aws.cloudcontrol.emulator import CloudControlEmulator
from port_aws_exporter.local.aws.cloudcontrol.schemas import ResourceSchema, ResourceSchemas

__all__ = ["CloudControlEmulator", "ResourceSchema", "ResourceSchemas"]
