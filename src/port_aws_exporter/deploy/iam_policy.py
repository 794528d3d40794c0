"""The least-privilege read policy for the kinds of a config: the stack's `CustomIAMPolicyARN`.

For each kind, the actions the exporter calls to list and read it come from the kind registry when it
knows the kind (its Cloud Control handlers' permissions, its native fetcher's calls), else from the
account's CloudFormation type registry (`DescribeType`), else the kind is reported as unknown. Kinds
read through Cloud Control add Cloud Control's own `cloudformation:ListResources` and
`cloudformation:GetResource`.

Every action is then classified (`access_levels`). Plain reads go in. Reads that return data
(secret values, object contents) go in only when asked. Anything else (`iam:PassRole` in App
Runner's list handler, `kms:Decrypt` in Lambda's read handler) is left out. The policy says what it
left out and why, so the choice is visible where it is made.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from port_aws_exporter.core.config import ExporterConfig
from port_aws_exporter.core.kinds.registry import KINDS, FetcherName, KindSpec
from port_aws_exporter.deploy.access_levels import Access, AccessLevelTable, classify_action, load_access_table
from port_aws_exporter.deploy.type_registry import TypeLookupError, TypeRegistry

CLOUD_CONTROL_LIST = "cloudformation:ListResources"
CLOUD_CONTROL_GET = "cloudformation:GetResource"
CLOUD_CONTROL_ACTIONS = (CLOUD_CONTROL_GET, CLOUD_CONTROL_LIST)
# IAM's limit for a customer managed policy, counted without whitespace.
MANAGED_POLICY_SIZE_LIMIT = 6144
DEFAULT_POLICY_NAME = "PortAWSExporterPolicy"


class PermissionSource(StrEnum):
    """Where a kind's actions came from."""

    KIND_REGISTRY = "kind registry"
    TYPE_REGISTRY = "CloudFormation DescribeType"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class KindPermissions:
    """The actions the exporter calls for one kind, before classification."""

    kind: str
    source: PermissionSource
    actions: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class LeftOutAction:
    """An action some kind's handlers list that the policy does not allow, and why."""

    action: str
    access: Access
    reason: str
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class ReadPolicy:
    """A generated policy document with the facts behind it."""

    document: dict[str, Any]
    kinds: tuple[KindPermissions, ...]
    left_out: tuple[LeftOutAction, ...]
    access_source: str
    include_data_reads: bool

    @property
    def allowed_actions(self) -> tuple[str, ...]:
        """Every action the document allows."""
        return tuple(action for statement in self.document["Statement"] for action in statement["Action"])

    @property
    def unknown_kinds(self) -> tuple[KindPermissions, ...]:
        """Kinds whose permissions could not be found: the policy lacks them."""
        return tuple(kind for kind in self.kinds if kind.source is PermissionSource.UNKNOWN)

    @property
    def size(self) -> int:
        """The document's size as IAM counts it against MANAGED_POLICY_SIZE_LIMIT."""
        return len(compact_json(self.document))

    def explanation(self) -> list[str]:
        """What went in, what was left out and why, one line each, for people."""
        lines = [f"access levels: {self.access_source}"]
        for kind in self.kinds:
            if kind.source is PermissionSource.UNKNOWN:
                lines.append(f"UNKNOWN {kind.kind}: {kind.note}; add its read permissions to the policy by hand")
            else:
                note = f"; {kind.note}" if kind.note else ""
                lines.append(f"{kind.kind}: {len(kind.actions)} action(s) from the {kind.source}{note}")
        for left in self.left_out:
            hint = ""
            if left.access is Access.DATA_READ:
                hint = "; --include-data-reads adds it if Cloud Control's read of the kind fails without it"
            lines.append(f"left out {left.action} (listed for {', '.join(left.kinds)}): {left.reason}{hint}")
        limit = "" if self.size <= MANAGED_POLICY_SIZE_LIMIT else " (OVER the limit: split the config's kinds)"
        lines.append(f"policy size: {self.size} of {MANAGED_POLICY_SIZE_LIMIT} characters{limit}")
        return lines


def compact_json(document: Any) -> str:
    """JSON without whitespace: how IAM measures a policy, and how it is inlined in a command."""
    return json.dumps(document, separators=(",", ":"))


def read_policy_for_config(
    config: ExporterConfig,
    *,
    type_registry: TypeRegistry | None = None,
    include_data_reads: bool = False,
    access_table: AccessLevelTable | None = None,
) -> ReadPolicy:
    """The read policy for every kind of `config` (see `build_read_policy`)."""
    return build_read_policy(
        config.kinds(), type_registry=type_registry, include_data_reads=include_data_reads, access_table=access_table
    )


def build_read_policy(
    kinds: Iterable[str],
    *,
    type_registry: TypeRegistry | None = None,
    include_data_reads: bool = False,
    access_table: AccessLevelTable | None = None,
    extra_actions: Iterable[str] = (),
) -> ReadPolicy:
    """The least-privilege read policy for `kinds`.

    `type_registry` is asked about kinds the registry does not know (None: they are unknown).
    `access_table` defaults to the Service Authorization Reference when installed, else verbs decide.

    >>> policy = build_read_policy(["AWS::EKS::Cluster"])
    >>> policy.allowed_actions
    ('cloudformation:GetResource', 'cloudformation:ListResources', 'eks:DescribeCluster', 'eks:ListClusters')
    """
    table = access_table if access_table is not None else load_access_table()
    kind_permissions = tuple(_permissions_of(kind, type_registry) for kind in dict.fromkeys(kinds))
    wanted: dict[str, tuple[str, list[str]]] = {}  # lower-cased action -> (spelling, kinds)
    for permissions in kind_permissions:
        for action in permissions.actions:
            spelling, wanting = wanted.setdefault(action.lower(), (_normalize(action), []))
            wanting.append(permissions.kind)
    for action in extra_actions:  # the exporter's own calls (the regions of an account)
        wanted.setdefault(action.lower(), (_normalize(action), ["exporter"]))
    allowed, left_out = [], []
    for spelling, wanting in wanted.values():
        verdict = classify_action(spelling, table)
        if verdict.access is Access.READ or (verdict.access is Access.DATA_READ and include_data_reads):
            allowed.append(spelling)
        else:
            left_out.append(LeftOutAction(spelling, verdict.access, verdict.reason, tuple(dict.fromkeys(wanting))))
    source = table.description if table is not None else "action verbs (install the `deploy` extra for access levels)"
    return ReadPolicy(_document(allowed), kind_permissions, tuple(left_out), source, include_data_reads)


def create_policy_command(policy_name: str, *, document: dict[str, Any] | None = None, file: str | None = None) -> str:
    """The `aws iam create-policy` command that prints the new policy's ARN (the stack's CustomIAMPolicyARN).

    The document is read from `file` when given, else inlined.
    """
    source = f"file://{file}" if file is not None else compact_json(document)
    return shlex.join(
        [
            "aws",
            "iam",
            "create-policy",
            "--policy-name",
            policy_name,
            "--policy-document",
            source,
            "--query",
            "Policy.Arn",
            "--output",
            "text",
        ]
    )


def _permissions_of(kind: str, type_registry: TypeRegistry | None) -> KindPermissions:
    spec = KINDS.get(kind)
    if spec is not None:
        return KindPermissions(kind, PermissionSource.KIND_REGISTRY, _registry_actions(spec))
    if type_registry is None:
        return KindPermissions(kind, PermissionSource.UNKNOWN, (), "not in the kind registry; DescribeType not asked")
    try:
        handlers = type_registry.handler_permissions(kind)
    except TypeLookupError as error:
        return KindPermissions(kind, PermissionSource.UNKNOWN, (), f"not in the kind registry; {error}")
    cloud_control = (CLOUD_CONTROL_LIST, CLOUD_CONTROL_GET) if handlers.list else (CLOUD_CONTROL_GET,)
    note = "" if handlers.list else "no list handler: Cloud Control cannot list it, a full sync will fail for it"
    actions = tuple(dict.fromkeys([*cloud_control, *handlers.list, *handlers.read]))
    return KindPermissions(kind, PermissionSource.TYPE_REGISTRY, actions, note)


def _registry_actions(spec: KindSpec) -> tuple[str, ...]:
    cloud_control: list[str] = []
    if spec.fetcher is FetcherName.CLOUD_CONTROL:
        # Kinds with a native listing are listed natively and only read through Cloud Control.
        cloud_control = (
            [CLOUD_CONTROL_GET] if spec.native_listing is not None else [CLOUD_CONTROL_LIST, CLOUD_CONTROL_GET]
        )
    return tuple(dict.fromkeys([*cloud_control, *spec.read_actions]))


def _normalize(action: str) -> str:
    """Service prefixes in lower case (IAM ignores case; `S3:GetBucketWebsite` is `s3:GetBucketWebsite`)."""
    service, separator, name = action.partition(":")
    return f"{service.lower()}{separator}{name}"


def _document(allowed: list[str]) -> dict[str, Any]:
    cloud_control = {action.lower() for action in CLOUD_CONTROL_ACTIONS}
    statements = []
    for sid, actions in (
        ("CloudControlRead", [a for a in allowed if a.lower() in cloud_control]),
        ("ReadConfiguredKinds", [a for a in allowed if a.lower() not in cloud_control]),
    ):
        if actions:
            statements.append(
                {"Sid": sid, "Effect": "Allow", "Action": sorted(actions, key=str.lower), "Resource": "*"}
            )
    return {"Version": "2012-10-17", "Statement": statements}


# What the home account (where the exporter runs) needs to read an organisation: the account list
# (whole organisation, organisational units walked recursively, explicit ids described), and the
# member accounts' read role, by name, in any account.
ORGANIZATION_ACTIONS = (
    "organizations:DescribeAccount",
    "organizations:ListAccounts",
    "organizations:ListAccountsForParent",
    "organizations:ListChildren",
)
# `selector.aws.regions: ["*"]` reads the regions enabled in each account.
ENABLED_REGIONS_ACTION = "ec2:DescribeRegions"


@dataclass(frozen=True)
class AccountsPolicies:
    """The policies of a multi-account deployment: the member accounts' read role, and the home
    account's role (its own reads when it is included, the organisation's account list, AssumeRole)."""

    member_role: ReadPolicy
    home: dict[str, Any]


def accounts_policies(
    config: ExporterConfig,
    *,
    partition: str = "aws",
    type_registry: TypeRegistry | None = None,
    include_data_reads: bool = False,
    access_table: AccessLevelTable | None = None,
) -> AccountsPolicies:
    """The member read role's policy and the home account's, for a config with `accounts`."""
    accounts = config.accounts
    if accounts is None:
        raise ValueError("the config has no 'accounts' section: its read policy is all it needs")
    kinds = [kind for kind in config.kinds() if not KINDS.get(kind, _NOT_ORGANIZATION).organization_level]
    organization_kinds = [kind for kind in config.kinds() if kind not in kinds]
    extra = (ENABLED_REGIONS_ACTION,) if any(r.selector.aws.all_enabled_regions for r in config.resources) else ()
    member = build_read_policy(
        kinds,
        type_registry=type_registry,
        include_data_reads=include_data_reads,
        access_table=access_table,
        extra_actions=extra,
    )
    home_reads = build_read_policy(
        (kinds if accounts.include_home else []) + organization_kinds,
        type_registry=type_registry,
        include_data_reads=include_data_reads,
        access_table=access_table,
        extra_actions=extra if accounts.include_home else (),
    )
    statements = [dict(statement) for statement in home_reads.document["Statement"]]
    statements.append(
        {"Sid": "ListOrganizationAccounts", "Effect": "Allow", "Action": list(ORGANIZATION_ACTIONS), "Resource": "*"}
    )
    statements.append(
        {
            "Sid": "AssumeMemberReadRole",
            "Effect": "Allow",
            "Action": ["sts:AssumeRole"],
            "Resource": f"arn:{partition}:iam::*:role/{accounts.role_name}",
        }
    )
    return AccountsPolicies(member, {"Version": "2012-10-17", "Statement": statements})


_NOT_ORGANIZATION = KindSpec("", ())
