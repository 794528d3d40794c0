"""Lambda functions and ECS clusters/services, read from moto in their CloudFormation shapes."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from port_aws_exporter.local.aws.cloudcontrol.moto_types.base import (
    MOTO_ERRORS,
    MotoResourceType,
    SourceContext,
    generated_name,
    moto_failure,
    moto_resource_type,
    pascal_keys,
    tag_dict,
    tag_list,
    without_empty,
)
from port_aws_exporter.local.aws.resource_defaults import zipped_source

_ACTIVE = "ACTIVE"


def _lambda(ctx: SourceContext) -> Any:
    from moto.awslambda.models import lambda_backends

    return lambda_backends[ctx.account_id][ctx.region]


def inline_code_zip(source: str, filename: str = "index.py") -> str:
    """CloudFormation's inline `Code.ZipFile` (source text) as the base64 zip the Lambda API takes."""
    return base64.b64encode(zipped_source(source, filename)).decode()


@moto_resource_type
class LambdaFunction(MotoResourceType):
    """`AWS::Lambda::Function`, identified by its name."""

    type_name = "AWS::Lambda::Function"

    def identifiers(self, ctx: SourceContext) -> list[str]:
        return [function.function_name for function in _lambda(ctx).list_functions()]

    def read(self, ctx: SourceContext, identifier: str) -> dict[str, Any] | None:
        try:
            function = _lambda(ctx).get_function(identifier)
        except MOTO_ERRORS:
            return None
        return without_empty(
            {
                "FunctionName": function.function_name,
                "Arn": function.function_arn,
                "Role": function.role,
                "Handler": function.handler,
                "Runtime": function.run_time,
                "Description": function.description,
                "MemorySize": int(function.memory_size),
                "Timeout": int(function.timeout),
                "PackageType": function.package_type,
                "Architectures": list(function.architectures),
                "EphemeralStorage": {"Size": int(function.ephemeral_storage)},
                "TracingConfig": {"Mode": function.tracing_config.get("Mode", "PassThrough")},
                "Layers": [layer["Arn"] for layer in function.layers],
                "Environment": {"Variables": dict(function.environment_vars)} if function.environment_vars else None,
                "VpcConfig": _lambda_vpc_config(function._vpc_config),
                "KmsKeyArn": function.kms_key_arn,
                "ReservedConcurrentExecutions": _optional_int(function.reserved_concurrency),
                "LoggingConfig": {"LogFormat": "Text", "LogGroup": function.logs_group_name},
                "RuntimeManagementConfig": {"UpdateRuntimeOn": "Auto"},
                "SnapStartResponse": {"ApplyOn": "None", "OptimizationStatus": "Off"},
                "RecursiveLoop": "Terminate",
                "Tags": tag_list(function.tags),
            }
        )

    def delete(self, ctx: SourceContext, identifier: str) -> bool:
        try:
            _lambda(ctx).delete_function(identifier)
        except MOTO_ERRORS:
            return False
        return True

    def create(self, ctx: SourceContext, desired: Mapping[str, Any]) -> str | None:
        name = desired.get("FunctionName") or generated_name(self.type_name)
        spec = {key: value for key, value in desired.items() if key not in ("Tags", "Code", "Layers")}
        spec.update(FunctionName=name, Tags=tag_dict(desired.get("Tags")), Layers=desired.get("Layers", []))
        code = dict(desired.get("Code", {}))
        if "ZipFile" in code:
            code["ZipFile"] = inline_code_zip(code["ZipFile"])
        spec["Code"] = code
        try:
            _lambda(ctx).create_function(spec)
        except MOTO_ERRORS as error:
            raise moto_failure(self.type_name, name, error) from error
        return str(name)


def _lambda_vpc_config(config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not config:
        return None
    return {"SecurityGroupIds": config.get("SecurityGroupIds", []), "SubnetIds": config.get("SubnetIds", [])}


def _optional_int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


def _ecs(ctx: SourceContext) -> Any:
    from moto.ecs.models import ecs_backends

    return ecs_backends[ctx.account_id][ctx.region]


@moto_resource_type
class EcsCluster(MotoResourceType):
    """`AWS::ECS::Cluster`, identified by its name."""

    type_name = "AWS::ECS::Cluster"

    def identifiers(self, ctx: SourceContext) -> list[str]:
        return [name for name, cluster in list(_ecs(ctx).clusters.items()) if cluster.status == _ACTIVE]

    def read(self, ctx: SourceContext, identifier: str) -> dict[str, Any] | None:
        cluster = _ecs(ctx).clusters.get(identifier.rpartition("/")[2])
        if cluster is None or cluster.status != _ACTIVE:
            return None
        return without_empty(
            {
                "ClusterName": cluster.name,
                "Arn": cluster.arn,
                "ClusterSettings": pascal_keys(cluster.settings),
                "CapacityProviders": list(cluster.capacity_providers or []),
                "DefaultCapacityProviderStrategy": pascal_keys(cluster.default_capacity_provider_strategy or []),
                "Configuration": pascal_keys(cluster.configuration),
                "Tags": tag_list(tag_dict(cluster.tags)),
            }
        )

    def delete(self, ctx: SourceContext, identifier: str) -> bool:
        if self.read(ctx, identifier) is None:
            return False
        _ecs(ctx).delete_cluster(identifier)
        return True

    def create(self, ctx: SourceContext, desired: Mapping[str, Any]) -> str | None:
        name = desired.get("ClusterName") or generated_name(self.type_name)
        settings = [{"name": s["Name"], "value": s["Value"]} for s in desired.get("ClusterSettings", [])]
        tags = [{"key": key, "value": value} for key, value in tag_dict(desired.get("Tags")).items()]
        try:
            _ecs(ctx).create_cluster(
                name,
                tags=tags or None,
                cluster_settings=settings or None,
                capacity_providers=desired.get("CapacityProviders"),
            )
        except MOTO_ERRORS as error:
            raise moto_failure(self.type_name, name, error) from error
        return str(name)


@moto_resource_type
class EcsService(MotoResourceType):
    """`AWS::ECS::Service`, identified by `ServiceArn|ClusterArn`."""

    type_name = "AWS::ECS::Service"

    def identifiers(self, ctx: SourceContext) -> list[str]:
        return [
            f"{service.arn}|{service.cluster_arn}"
            for service in list(_ecs(ctx).services.values())
            if service.status == _ACTIVE
        ]

    def _find(self, ctx: SourceContext, identifier: str) -> Any:
        service_arn, _, cluster_arn = identifier.partition("|")
        cluster_name = cluster_arn.rpartition("/")[2]
        service = _ecs(ctx).services.get(f"{cluster_name}:{service_arn.rpartition('/')[2]}")
        if service is None or service.status != _ACTIVE or service.arn != service_arn:
            return None
        return service

    def read(self, ctx: SourceContext, identifier: str) -> dict[str, Any] | None:
        service = self._find(ctx, identifier)
        if service is None:
            return None
        network = pascal_keys(service.network_configuration)
        return without_empty(
            {
                "ServiceArn": service.arn,
                "ServiceName": service.name,
                "Name": service.name,
                "Cluster": service.cluster_arn,
                "TaskDefinition": service.task_definition,
                "DesiredCount": int(service.desired_count),
                "LaunchType": service.launch_type,
                "SchedulingStrategy": service.scheduling_strategy,
                "PlatformVersion": service.platform_version,
                "LoadBalancers": pascal_keys(service.load_balancers),
                "ServiceRegistries": pascal_keys(service.service_registries),
                "NetworkConfiguration": network,
                "DeploymentController": pascal_keys(service.deployment_controller),
                "PropagateTags": service.propagate_tags if service.propagate_tags != "NONE" else None,
                "Role": service.role_arn,
                "EnableECSManagedTags": False,
                "EnableExecuteCommand": False,
                "Tags": tag_list(tag_dict(service.tags)),
            }
        )

    def delete(self, ctx: SourceContext, identifier: str) -> bool:
        service = self._find(ctx, identifier)
        if service is None:
            return False
        _ecs(ctx).delete_service(service.cluster_name, service.name, force=True)
        return True
