"""AWS Organizations, read: the accounts of the organisation, of organisational units (walked
recursively), and what it says of one account.

The account list is read afresh at every sync start. `State` (ACTIVE, SUSPENDED, PENDING_CLOSURE,
CLOSED…) decides, not the older `Status`. Calls: `ListAccounts` for the whole organisation;
`ListAccountsForParent` and `ListChildren` for organisational units; `DescribeAccount` for an
explicit account id.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from port_aws_exporter.aws.fetch_errors import describe, error_code
from port_aws_exporter.core.accounts import ACTIVE, OrganizationAccount, OrganizationUnavailableError
from port_aws_exporter.core.config import OrganizationScope

log = logging.getLogger(__name__)

NOT_IN_USE = "AWSOrganizationsNotInUseException"
ACCOUNT_NOT_FOUND = "AccountNotFoundException"
OU_CHILD = "ORGANIZATIONAL_UNIT"


def account_of(raw: dict[str, Any], ou_path: tuple[str, ...] = ()) -> OrganizationAccount:
    """An `Account` of the Organizations API as the core models it."""
    return OrganizationAccount(
        account_id=str(raw["Id"]),
        name=str(raw.get("Name") or ""),
        email=str(raw.get("Email") or ""),
        state=str(raw.get("State") or raw.get("Status") or ACTIVE),
        ou_path=ou_path,
    )


def organization_accounts(client: Any, scope: OrganizationScope) -> list[OrganizationAccount]:
    """Every account of the organisation, or those under `scope.ou_ids` (each listed once)."""
    try:
        if scope.ou_ids is None:
            raw = [account for page in client.get_paginator("list_accounts").paginate() for account in page["Accounts"]]
            return [account_of(account) for account in raw]
        found: dict[str, OrganizationAccount] = {}
        for ou_id in scope.ou_ids:
            for account in _accounts_under(client, ou_id):
                found.setdefault(account.account_id, account)
        return list(found.values())
    except (ClientError, BotoCoreError) as error:
        raise OrganizationUnavailableError(_why(error)) from error


def _accounts_under(client: Any, parent_id: str) -> Iterator[OrganizationAccount]:
    """The accounts directly under `parent_id`, then under each of its organisational units."""
    for page in client.get_paginator("list_accounts_for_parent").paginate(ParentId=parent_id):
        yield from (account_of(account) for account in page["Accounts"])
    children = client.get_paginator("list_children").paginate(ParentId=parent_id, ChildType=OU_CHILD)
    for page in children:
        for child in page["Children"]:
            yield from _accounts_under(client, child["Id"])


def describe_accounts(client: Any, account_ids: list[str]) -> dict[str, OrganizationAccount | None]:
    """What Organizations says of each account: None when it is not a member (or cannot be asked:
    an explicit account id is read through its role without Organizations)."""
    described: dict[str, OrganizationAccount | None] = {}
    for account_id in account_ids:
        try:
            described[account_id] = account_of(client.describe_account(AccountId=account_id)["Account"])
        except (ClientError, BotoCoreError) as error:
            log.info(
                "Organizations does not describe this account; it is read through its role",
                extra={"account": account_id, "reason": describe(error)},
            )
            described[account_id] = None
    return described


def _why(error: ClientError | BotoCoreError) -> str:
    if isinstance(error, ClientError) and error_code(error) == NOT_IN_USE:
        return "this account is not a member of an organisation (AWS Organizations is not in use)"
    return f"AWS Organizations could not be asked for the accounts: {describe(error)}"
