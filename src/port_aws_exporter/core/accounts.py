"""Which AWS accounts a multi-account sync reads, and the interface it reads them through.

`select_accounts` applies the `accounts` section of `config.json` to what AWS Organizations says
(pure): the organisation's ACTIVE accounts (all, or those under `ouIds`), the explicit `ids`, less
`exclude`, with or without the exporter's own account. Accounts the organisation lists as closed
or suspended have left: their entities are kept unless the run is told to delete them.

`AccountDirectory` is what the orchestration (`sync.accounts`) needs of AWS, implemented in
`aws.account_sessions` and handed over by the composition roots: the organisation's accounts, and
one `AccountAccess` per account (fetchers on that account's session, its regions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from port_aws_exporter.core.config import AccountsConfig, OrganizationScope
from port_aws_exporter.core.fetching import ResourceFetcher
from port_aws_exporter.core.kinds.registry import KindSpec
from port_aws_exporter.core.partitions import Partition
from port_aws_exporter.core.regions import AccountRegions

ACTIVE = "ACTIVE"
# Organizations' `State` of accounts that have left or are leaving: closed, or being closed.
DEPARTED_STATES = frozenset({"SUSPENDED", "PENDING_CLOSURE", "CLOSED"})


@dataclass(frozen=True)
class OrganizationAccount:
    """An account as AWS Organizations describes it (`State`, not the older `Status`)."""

    account_id: str
    name: str = ""
    email: str = ""
    state: str = ACTIVE
    # The names of the organisational units above the account, from the root down.
    ou_path: tuple[str, ...] = ()


class AccountSource(StrEnum):
    """Why an account is read."""

    HOME = "home"
    ORGANIZATION = "organization"
    IDS = "ids"


@dataclass(frozen=True)
class AccountTarget:
    """An account to read; the home account is read with the exporter's own credentials."""

    account_id: str
    source: AccountSource
    name: str = ""

    @property
    def home(self) -> bool:
        return self.source is AccountSource.HOME


@dataclass(frozen=True)
class DepartedAccount:
    """An account Organizations lists as closed or suspended: not read, and its entities kept
    unless deleting them is asked for explicitly."""

    account_id: str
    name: str
    state: str

    @property
    def reason(self) -> str:
        return f"the organisation lists it as {self.state}"


@dataclass(frozen=True)
class AccountSelection:
    """The outcome of `select_accounts`."""

    targets: list[AccountTarget]
    departed: list[DepartedAccount]
    # Accounts left out, and why (`exclude`, not active yet, the home account with includeHome false).
    left_out: dict[str, str]


def select_accounts(
    accounts: AccountsConfig,
    home_account_id: str,
    organization: Sequence[OrganizationAccount] | None,
    explicit: Mapping[str, OrganizationAccount | None] | None = None,
) -> AccountSelection:
    """The accounts to read, in a stable order (home first, then by account id).

    `organization`: the accounts Organizations lists in the configured scope (None when the config
    has no `organization`). `explicit`: what Organizations says of each of `ids` (None: not a member,
    or not known; such an account is still read, through its role).

    >>> from port_aws_exporter.core.config import AccountsConfig
    >>> config = AccountsConfig.model_validate({"organization": {}, "exclude": ["333333333333"]})
    >>> org = [OrganizationAccount("222222222222"), OrganizationAccount("333333333333"),
    ...        OrganizationAccount("444444444444", state="SUSPENDED")]
    >>> selection = select_accounts(config, "111111111111", org)
    >>> [(t.account_id, t.source.value) for t in selection.targets]
    [('111111111111', 'home'), ('222222222222', 'organization')]
    >>> [d.account_id for d in selection.departed], selection.left_out
    (['444444444444'], {'333333333333': 'excluded by accounts.exclude'})
    """
    excluded = set(accounts.exclude)
    targets: dict[str, AccountTarget] = {}
    departed: dict[str, DepartedAccount] = {}
    left_out: dict[str, str] = {}

    def consider(account: OrganizationAccount, source: AccountSource) -> None:
        account_id = account.account_id
        if account_id in targets or account_id in departed:
            return
        if account_id in excluded:
            left_out[account_id] = "excluded by accounts.exclude"
        elif account.state in DEPARTED_STATES:
            departed[account_id] = DepartedAccount(account_id, account.name, account.state)
        elif account.state != ACTIVE:
            left_out[account_id] = f"the organisation lists it as {account.state}, not ACTIVE"
        elif account_id == home_account_id:
            if accounts.include_home:
                targets[account_id] = AccountTarget(account_id, AccountSource.HOME, account.name)
            else:
                left_out[account_id] = "the exporter's own account, and accounts.includeHome is false"
        else:
            targets[account_id] = AccountTarget(account_id, source, account.name)

    if accounts.include_home and home_account_id not in excluded:
        known = {account.account_id: account for account in organization or ()}
        home = known.get(home_account_id) or OrganizationAccount(home_account_id)
        consider(home, AccountSource.HOME)
    for account in organization or ():
        consider(account, AccountSource.ORGANIZATION)
    for account_id in accounts.ids:
        described = (explicit or {}).get(account_id)
        consider(described or OrganizationAccount(account_id), AccountSource.IDS)
    ordered = sorted(targets.values(), key=lambda target: (not target.home, target.account_id))
    return AccountSelection(ordered, sorted(departed.values(), key=lambda d: d.account_id), left_out)


class AccountUnavailableError(Exception):
    """An account that cannot be read (its role cannot be assumed, its regions cannot be listed)."""

    def __init__(self, account_id: str, reason: str) -> None:
        self.account_id = account_id
        self.reason = reason
        super().__init__(f"account {account_id}: {reason}")


class OrganizationUnavailableError(Exception):
    """AWS Organizations could not be asked (no access, not an organisation, a failed call)."""


class AccountAccess(Protocol):
    """One account, as the sync reads it: fetchers on the account's session, and its regions."""

    account_id: str

    def fetcher(self, spec: KindSpec) -> ResourceFetcher:
        """The fetcher of a kind in this account."""
        ...

    def regions(self) -> AccountRegions:
        """The regions of the account's partition and those enabled in it; raises
        AccountUnavailableError with the reason when they cannot be read."""
        ...


class AccountDirectory(Protocol):
    """What a multi-account sync needs of AWS (`aws.account_sessions.OrganizationDirectory`)."""

    @property
    def home_account_id(self) -> str: ...

    @property
    def home_region(self) -> str: ...

    @property
    def partition(self) -> Partition: ...

    def organization_accounts(self, scope: OrganizationScope) -> list[OrganizationAccount]:
        """The organisation's accounts in `scope` (every state), read afresh; raises
        OrganizationUnavailableError."""
        ...

    def describe_accounts(self, account_ids: Sequence[str]) -> dict[str, OrganizationAccount | None]:
        """What Organizations says of each account (None: not a member, or not known)."""
        ...

    def open(self, target: AccountTarget) -> AccountAccess:
        """The account's session (the home account's own; an assumed role elsewhere), cached and
        renewed before it expires; raises AccountUnavailableError."""
        ...
