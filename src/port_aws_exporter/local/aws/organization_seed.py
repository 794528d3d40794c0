"""An AWS Organization in the local AWS: the endpoint's default account as its management account,
member accounts in organisational units, the exporter's read role in each member, and (with
`seed_demo_world`) resources in every account.

Everything goes through the service APIs, as it would in AWS: Organizations `CreateOrganization`,
`CreateOrganizationalUnit`, `CreateAccount`, `MoveAccount`; IAM `CreateRole` in each member account
(moto's `x-moto-account-id` header stands for the `OrganizationAccountAccessRole` an administrator
would use). The read role trusts the management account, with the external id when one is given,
so the local STS lets the exporter assume it exactly as AWS would.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from port_aws_exporter.core.config import DEFAULT_ROLE_NAME
from port_aws_exporter.local.aws.demo_world import DEFAULT_REGIONS, SeedSummary, seed_demo_world
from port_aws_exporter.local.aws.service_clients import in_account, local_client

DEFAULT_UNITS = ("Workloads", "Sandbox")
MEMBER_NAMES = tuple(f"team-{letter}" for letter in "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class SeededAccount:
    """A member account of the local organisation."""

    account_id: str
    name: str
    unit: str
    unit_id: str


@dataclass
class OrganizationSummary:
    """What `seed_organization` made (and, per account, what `seed_demo_world` seeded there)."""

    management_account_id: str
    organization_id: str
    root_id: str
    units: dict[str, str]
    members: list[SeededAccount]
    role_name: str
    worlds: dict[str, SeedSummary] = field(default_factory=dict)

    def member(self, name: str) -> SeededAccount:
        return next(account for account in self.members if account.name == name)

    def count(self) -> int:
        return sum(world.count() for world in self.worlds.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "management_account_id": self.management_account_id,
            "organization_id": self.organization_id,
            "root_id": self.root_id,
            "units": self.units,
            "members": [member.__dict__ for member in self.members],
            "role_name": self.role_name,
            "resources": {account: world.count() for account, world in self.worlds.items()},
            "total": self.count(),
        }


def read_role_trust_policy(management_account_id: str, external_id: str | None = None) -> str:
    """The read role's trust policy: the management account may assume it (with the external id)."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{management_account_id}:root"},
        "Action": "sts:AssumeRole",
    }
    if external_id is not None:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def seed_organization(
    endpoint_url: str,
    *,
    members: int,
    units: Sequence[str] = DEFAULT_UNITS,
    role_name: str = DEFAULT_ROLE_NAME,
    external_id: str | None = None,
    region: str = "us-east-1",
) -> OrganizationSummary:
    """An organisation with `members` member accounts spread over `units` (in turn), each with the
    read role. The endpoint's default account is the management account. Seeding again reuses the
    organisation, its units and its accounts (by name), and adds only what is missing."""
    if members < 0 or members > len(MEMBER_NAMES):
        raise ValueError(f"members must be between 0 and {len(MEMBER_NAMES)}, got {members}")
    organizations = local_client(endpoint_url, "organizations", region)
    try:
        organization = organizations.create_organization(FeatureSet="ALL")["Organization"]
    except organizations.exceptions.AlreadyInOrganizationException:
        organization = organizations.describe_organization()["Organization"]  # seeded before: reuse it
    root_id = organizations.list_roots()["Roots"][0]["Id"]
    existing_units = {
        unit["Name"]: unit["Id"]
        for unit in organizations.list_organizational_units_for_parent(ParentId=root_id)["OrganizationalUnits"]
    }
    unit_ids = {
        name: existing_units.get(name)
        or organizations.create_organizational_unit(ParentId=root_id, Name=name)["OrganizationalUnit"]["Id"]
        for name in units
    }
    existing_accounts = {account["Name"]: account["Id"] for account in _accounts(organizations)}
    seeded = []
    for position in range(members):
        name = MEMBER_NAMES[position]
        unit = units[position % len(units)] if units else ""
        account_id = existing_accounts.get(name)
        if account_id is None:
            status = organizations.create_account(Email=f"{name}@example.com", AccountName=name)
            account_id = status["CreateAccountStatus"]["AccountId"]
            if unit:
                organizations.move_account(
                    AccountId=account_id, SourceParentId=root_id, DestinationParentId=unit_ids[unit]
                )
        create_read_role(endpoint_url, account_id, organization["MasterAccountId"], role_name, external_id, region)
        seeded.append(SeededAccount(account_id, name, unit, unit_ids.get(unit, root_id)))
    return OrganizationSummary(
        organization["MasterAccountId"], organization["Id"], root_id, unit_ids, seeded, role_name
    )


def create_read_role(
    endpoint_url: str,
    account_id: str,
    management_account_id: str,
    role_name: str = DEFAULT_ROLE_NAME,
    external_id: str | None = None,
    region: str = "us-east-1",
) -> None:
    """The exporter's read role in a member account, trusted by the management account (moto does
    not evaluate permission policies, so the role carries none; `iam-policy --member-role` prints
    the one to attach in AWS)."""
    iam = in_account(_fresh_client(endpoint_url, "iam", region), account_id)
    trust_policy = read_role_trust_policy(management_account_id, external_id)
    try:
        iam.create_role(
            RoleName=role_name,
            AssumeRolePolicyDocument=trust_policy,
            Description="Lets port-aws-exporter read this account",
        )
    except iam.exceptions.EntityAlreadyExistsException:
        # Seeded before: the trust policy is made what this call asks (an external id may be new).
        iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=trust_policy)


def _accounts(organizations: Any) -> list[dict[str, Any]]:
    """Every account of the organisation, all pages."""
    accounts: list[dict[str, Any]] = []
    for page in organizations.get_paginator("list_accounts").paginate():
        accounts.extend(page["Accounts"])
    return accounts


def seed_organization_worlds(
    endpoint_url: str,
    organization: OrganizationSummary,
    *,
    regions: Sequence[str] = DEFAULT_REGIONS,
    resources: int | None = None,
    home: bool = True,
) -> None:
    """The demo world in every member account (names prefixed by the account's name), and with
    `home` in the management account (named `demo-…`); recorded in `organization.worlds`."""
    if home:
        organization.worlds[organization.management_account_id] = seed_demo_world(
            endpoint_url, regions=regions, resources=resources
        )
    for member in organization.members:
        organization.worlds[member.account_id] = seed_demo_world(
            endpoint_url,
            regions=regions,
            resources=resources,
            random_seed=None,
            account_id=member.account_id,
            prefix=member.name,
        )


def _fresh_client(endpoint_url: str, service: str, region: str) -> Any:
    """A client of its own (the cached ones are shared: a header hook must not leak into them)."""
    import boto3
    from botocore.config import Config

    from port_aws_exporter.local.aws.service_clients import LOCAL_CREDENTIALS

    return boto3.session.Session().client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        config=Config(retries={"mode": "standard", "total_max_attempts": 3}),
        **LOCAL_CREDENTIALS,
    )
