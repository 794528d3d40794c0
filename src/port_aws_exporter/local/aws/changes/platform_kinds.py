"""Changes of the platform kinds: ECS clusters and services, ECR repositories, IAM roles."""

from __future__ import annotations

from typing import Any

from port_aws_exporter.local.aws.changes.context import ChangeContext, ChangeError
from port_aws_exporter.local.aws.changes.kind_changes import (
    CHANGE_TAG,
    CREATED_TAGS,
    LAMBDA_TRUST_POLICY,
    ResourceChanges,
    registered,
)
from port_aws_exporter.local.aws.resource_defaults import tag_pairs

DEFAULT_ECS_CLUSTER = "default"  # where ECS puts a service created without a cluster
_SERVICE_IMAGE = "public.ecr.aws/nginx/nginx:latest"


@registered
class EcsClusterChanges(ResourceChanges):
    """`AWS::ECS::Cluster` by cluster name; update toggles Container Insights."""

    kind = "AWS::ECS::Cluster"
    aliases = ("ecs-cluster", "cluster")

    def create(self, ctx: ChangeContext, name: str) -> str:
        answer = ctx.call(
            "ecs", "create_cluster", {"clusterName": name, "tags": tag_pairs(CREATED_TAGS, "key", "value")}
        )
        return str(answer["cluster"]["clusterName"])

    def update(self, ctx: ChangeContext, name: str) -> str:
        cluster = self._cluster(ctx, name)
        insights = next((s["value"] for s in cluster.get("settings", []) if s.get("name") == "containerInsights"), "")
        setting = {"name": "containerInsights", "value": "disabled" if insights == "enabled" else "enabled"}
        ctx.call("ecs", "update_cluster", {"cluster": name, "settings": [setting]})
        return name

    def tag(self, ctx: ChangeContext, name: str) -> str:
        cluster = self._cluster(ctx, name)
        ctx.call(
            "ecs",
            "tag_resource",
            {"resourceArn": cluster["clusterArn"], "tags": tag_pairs({CHANGE_TAG: ctx.stamp}, "key", "value")},
        )
        return name

    def delete(self, ctx: ChangeContext, name: str) -> str:
        ctx.call("ecs", "delete_cluster", {"cluster": name})
        return name

    @staticmethod
    def _cluster(ctx: ChangeContext, name: str) -> dict[str, Any]:
        answer = ctx.read("ecs", "describe_clusters", {"clusters": [name], "include": ["SETTINGS"]})
        active = [cluster for cluster in answer.get("clusters", []) if cluster.get("status") == "ACTIVE"]
        if not active:
            raise ChangeError(f"no ECS cluster {name} in {ctx.region}")
        return dict(active[0])


@registered
class EcsServiceChanges(ResourceChanges):
    """`AWS::ECS::Service` named `CLUSTER/SERVICE`, or `SERVICE` (found in any cluster; created in
    the `default` cluster). Identifier: `serviceArn|clusterArn`; update adds one desired task."""

    kind = "AWS::ECS::Service"
    aliases = ("ecs-service", "service")

    def create(self, ctx: ChangeContext, name: str) -> str:
        cluster, service = name.split("/", 1) if "/" in name else (DEFAULT_ECS_CLUSTER, name)
        self._ensure_cluster(ctx, cluster)
        task = ctx.call(
            "ecs",
            "register_task_definition",
            {
                "family": service,
                "containerDefinitions": [{"name": "app", "image": _SERVICE_IMAGE, "memory": 128, "essential": True}],
            },
        )["taskDefinition"]
        answer = ctx.call(
            "ecs",
            "create_service",
            {
                "cluster": cluster,
                "serviceName": service,
                "taskDefinition": task["taskDefinitionArn"],
                "desiredCount": 1,
                "tags": tag_pairs(CREATED_TAGS, "key", "value"),
            },
        )
        return _identifier(answer["service"])

    def update(self, ctx: ChangeContext, name: str) -> str:
        found = self._service(ctx, name)
        desired = int(found["desiredCount"]) + 1
        params = {"cluster": found["clusterArn"], "service": found["serviceName"], "desiredCount": desired}
        return _identifier(ctx.call("ecs", "update_service", params)["service"])

    def tag(self, ctx: ChangeContext, name: str) -> str:
        found = self._service(ctx, name)
        ctx.call(
            "ecs",
            "tag_resource",
            {"resourceArn": found["serviceArn"], "tags": tag_pairs({CHANGE_TAG: ctx.stamp}, "key", "value")},
        )
        return _identifier(found)

    def delete(self, ctx: ChangeContext, name: str) -> str:
        found = self._service(ctx, name)
        params = {"cluster": found["clusterArn"], "service": found["serviceName"], "force": True}
        return _identifier(ctx.call("ecs", "delete_service", params)["service"])

    @staticmethod
    def _ensure_cluster(ctx: ChangeContext, cluster: str) -> None:
        answer = ctx.read("ecs", "describe_clusters", {"clusters": [cluster]})
        if not any(found.get("status") == "ACTIVE" for found in answer.get("clusters", [])):
            ctx.call("ecs", "create_cluster", {"clusterName": cluster})

    @staticmethod
    def _service(ctx: ChangeContext, name: str) -> dict[str, Any]:
        """The active service `CLUSTER/SERVICE`, or `SERVICE` in whichever cluster has it."""
        if "/" in name:
            clusters, service = [name.split("/", 1)[0]], name.split("/", 1)[1]
        else:
            clusters, service = ctx.read("ecs", "list_clusters", {}).get("clusterArns", []), name
        for cluster in clusters:
            answer = ctx.read("ecs", "describe_services", {"cluster": cluster, "services": [service]})
            active = [found for found in answer.get("services", []) if found.get("status") == "ACTIVE"]
            if active:
                return dict(active[0])
        raise ChangeError(f"no ECS service {name} in {ctx.region}")


def _identifier(service: dict[str, Any]) -> str:
    return f"{service['serviceArn']}|{service['clusterArn']}"


@registered
class EcrRepositoryChanges(ResourceChanges):
    """`AWS::ECR::Repository` by repository name; update toggles image tag mutability."""

    kind = "AWS::ECR::Repository"
    aliases = ("ecr", "repository")

    def create(self, ctx: ChangeContext, name: str) -> str:
        params = {"repositoryName": name, "tags": tag_pairs(CREATED_TAGS)}
        return str(ctx.call("ecr", "create_repository", params)["repository"]["repositoryName"])

    def update(self, ctx: ChangeContext, name: str) -> str:
        repository = self._repository(ctx, name)
        mutability = "IMMUTABLE" if repository.get("imageTagMutability") == "MUTABLE" else "MUTABLE"
        ctx.call("ecr", "put_image_tag_mutability", {"repositoryName": name, "imageTagMutability": mutability})
        return name

    def tag(self, ctx: ChangeContext, name: str) -> str:
        repository = self._repository(ctx, name)
        tags = tag_pairs({CHANGE_TAG: ctx.stamp})
        ctx.call("ecr", "tag_resource", {"resourceArn": repository["repositoryArn"], "tags": tags})
        return name

    def delete(self, ctx: ChangeContext, name: str) -> str:
        ctx.call("ecr", "delete_repository", {"repositoryName": name, "force": True})
        return name

    @staticmethod
    def _repository(ctx: ChangeContext, name: str) -> dict[str, Any]:
        missing = f"no ECR repository {name} in {ctx.region}"
        answer = ctx.read("ecr", "describe_repositories", {"repositoryNames": [name]}, missing=missing)
        return dict(answer["repositories"][0])


@registered
class IamRoleChanges(ResourceChanges):
    """`AWS::IAM::Role` by role name (global: its events reach EventBridge in us-east-1); update
    rewrites the description."""

    kind = "AWS::IAM::Role"
    aliases = ("iam", "role")

    def create(self, ctx: ChangeContext, name: str) -> str:
        params = {
            "RoleName": name,
            "AssumeRolePolicyDocument": LAMBDA_TRUST_POLICY,
            "Description": "Created by port-aws-exporter local change",
            "Tags": tag_pairs(CREATED_TAGS),
        }
        return str(ctx.call("iam", "create_role", params)["Role"]["RoleName"])

    def update(self, ctx: ChangeContext, name: str) -> str:
        ctx.call("iam", "update_role_description", {"RoleName": name, "Description": f"Updated at {ctx.stamp}"})
        return name

    def tag(self, ctx: ChangeContext, name: str) -> str:
        ctx.call("iam", "tag_role", {"RoleName": name, "Tags": tag_pairs({CHANGE_TAG: ctx.stamp})})
        return name

    def delete(self, ctx: ChangeContext, name: str) -> str:
        ctx.call("iam", "delete_role", {"RoleName": name})
        return name
