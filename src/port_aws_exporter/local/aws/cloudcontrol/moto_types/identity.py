"""IAM roles, read from moto in their CloudFormation shape."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from port_aws_exporter.local.aws.cloudcontrol.moto_types.base import (
    MOTO_ERRORS,
    PARTITION,
    MotoResourceType,
    SourceContext,
    generated_name,
    moto_failure,
    moto_resource_type,
    tag_dict,
    tag_list,
    without_empty,
)


def _iam(ctx: SourceContext) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[ctx.account_id][PARTITION]


def _policy_document(document: Any) -> Any:
    """moto keeps policy documents as (sometimes URL-encoded) text; CloudFormation shows objects."""
    if isinstance(document, str):
        text = document if document.lstrip().startswith("{") else unquote(document)
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return document
    return document


@moto_resource_type
class IamRole(MotoResourceType):
    """`AWS::IAM::Role`, identified by its name. IAM is global: every region sees the same roles."""

    type_name = "AWS::IAM::Role"

    def identifiers(self, ctx: SourceContext) -> list[str]:
        return [role.name for role in list(_iam(ctx).roles.values())]

    def _find(self, ctx: SourceContext, name: str) -> Any:
        return next((role for role in list(_iam(ctx).roles.values()) if role.name == name), None)

    def read(self, ctx: SourceContext, identifier: str) -> dict[str, Any] | None:
        role = self._find(ctx, identifier)
        if role is None:
            return None
        return without_empty(
            {
                "RoleName": role.name,
                "Arn": role.arn,
                "RoleId": role.id,
                "Path": role.path,
                "AssumeRolePolicyDocument": _policy_document(role.assume_role_policy_document),
                "Description": role.description,
                "MaxSessionDuration": int(role.max_session_duration or 3600),
                "PermissionsBoundary": role.permissions_boundary_arn,
                "ManagedPolicyArns": [policy.arn for policy in role.managed_policies.values()],
                "Policies": [
                    {"PolicyName": name, "PolicyDocument": _policy_document(document)}
                    for name, document in role.policies.items()
                ],
                "Tags": tag_list(tag_dict(role.tags)),
            }
        )

    def delete(self, ctx: SourceContext, identifier: str) -> bool:
        if self._find(ctx, identifier) is None:
            return False
        try:
            _iam(ctx).delete_role(identifier)
        except MOTO_ERRORS as error:
            raise moto_failure(self.type_name, identifier, error) from error
        return True

    def create(self, ctx: SourceContext, desired: Mapping[str, Any]) -> str | None:
        name = desired.get("RoleName") or generated_name(self.type_name)
        document = desired["AssumeRolePolicyDocument"]
        try:
            _iam(ctx).create_role(
                name,
                assume_role_policy_document=document if isinstance(document, str) else json.dumps(document),
                path=desired.get("Path", "/"),
                permissions_boundary=desired.get("PermissionsBoundary"),
                description=desired.get("Description", ""),
                tags=tag_list(tag_dict(desired.get("Tags"))),
                max_session_duration=str(desired.get("MaxSessionDuration", 3600)),
            )
        except MOTO_ERRORS as error:
            raise moto_failure(self.type_name, name, error) from error
        return str(name)
