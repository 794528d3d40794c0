"""Sessions per AWS account: the one place that gives boto3 clients for an account id.

The home account (the one the exporter's credentials belong to) is read with those credentials.
Every other account is read through `sts:AssumeRole` of `arn:<partition>:iam::<id>:role/<roleName>`
(with the external id, when configured). The assumed credentials are cached per account and
renewed by botocore before they expire (`RefreshableCredentials`: 15 minutes before, at the latest
10), so a sync, and the next syncs of a warm Lambda within the hour, assume each role once. The
full sync (through `OrganizationDirectory`) and the event path share one `AccountSessions`.

    sessions = AccountSessions(AwsClients(), caller, role_name="PortAwsExporterReadRole")
    clients = sessions.clients("111122223333")      # AwsClients on the assumed role
    clients.client("cloudcontrol", "eu-west-1").list_resources(TypeName="AWS::SQS::Queue")
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.session
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    CredentialProvider,
    CredentialResolver,
    Credentials,
    RefreshableCredentials,
)
from botocore.exceptions import BotoCoreError, ClientError

from port_aws_exporter.aws import organizations
from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.fetch_errors import describe
from port_aws_exporter.aws.fetchers import fetcher_for
from port_aws_exporter.aws.identity import CallerIdentity
from port_aws_exporter.core.accounts import AccountSource, AccountTarget, AccountUnavailableError, OrganizationAccount
from port_aws_exporter.core.config import (
    DEFAULT_ROLE_NAME,
    AccountsConfig,
    ExporterConfig,
    OrganizationScope,
    ResourceConfig,
)
from port_aws_exporter.core.fetching import FetcherFactory, ResourceFetcher
from port_aws_exporter.core.kinds.registry import KindSpec
from port_aws_exporter.core.partitions import Partition
from port_aws_exporter.core.regions import AccountRegions, single_account_regions
from port_aws_exporter.core.sharded_runs import ShardTask

ROLE_SESSION_NAME = "port-aws-exporter"
DEFAULT_SESSION_SECONDS = 3600


class _AssumedRoleProvider(CredentialProvider):  # type: ignore[misc]
    """Hands a botocore session the refreshable credentials of an assumed role."""

    METHOD = "assume-role"
    CANONICAL_NAME = "port-aws-exporter-assumed-role"

    def __init__(self, credentials: Credentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> Credentials:
        return self._credentials


@dataclass(frozen=True)
class RoleSettings:
    """How member accounts are entered."""

    role_name: str = DEFAULT_ROLE_NAME
    external_id: str | None = None
    session_seconds: int = DEFAULT_SESSION_SECONDS

    @classmethod
    def of(cls, accounts: AccountsConfig) -> RoleSettings:
        return cls(accounts.role_name, accounts.external_id)


class AccountSessions:
    """boto3 clients per account id: the home account's own, an assumed role's elsewhere (cached,
    renewed before expiry, thread-safe)."""

    def __init__(self, home: AwsClients, caller: CallerIdentity, role: RoleSettings | None = None) -> None:
        self.home = home
        self.caller = caller
        self.role = role or RoleSettings()
        self._accounts: dict[str, AwsClients] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._assume_role_calls: dict[str, int] = {}

    @property
    def partition(self) -> Partition:
        return self.caller.partition

    @property
    def home_account_id(self) -> str:
        return self.caller.installation.account_id

    @property
    def home_region(self) -> str:
        return self.caller.installation.region

    def role_arn(self, account_id: str) -> str:
        """The read role's ARN in `account_id`, in the caller's partition."""
        return self.partition.role_arn(account_id, self.role.role_name)

    def assume_role_calls(self) -> dict[str, int]:
        """AssumeRole calls made so far, per account id."""
        with self._lock:
            return dict(self._assume_role_calls)

    def clients(self, account_id: str) -> AwsClients:
        """The clients of `account_id`; raises AccountUnavailableError (with AWS's reason) when its
        role cannot be assumed."""
        if account_id == self.home_account_id:
            return self.home
        cached = self._accounts.get(account_id)
        if cached is not None:
            return cached
        with self._lock:
            lock = self._locks.setdefault(account_id, threading.Lock())
        with lock:  # one AssumeRole per account, even when several threads ask at once
            cached = self._accounts.get(account_id)
            if cached is None:
                cached = self._assume(account_id)
                self._accounts[account_id] = cached
            return cached

    def forget(self, account_id: str | None = None) -> None:
        """Drop the cached session of one account (or all): the next use assumes the role again."""
        with self._lock:
            if account_id is None:
                self._accounts.clear()
            else:
                self._accounts.pop(account_id, None)

    def _assume(self, account_id: str) -> AwsClients:
        role_arn = self.role_arn(account_id)
        extra: dict[str, Any] = {"RoleSessionName": ROLE_SESSION_NAME, "DurationSeconds": self.role.session_seconds}
        if self.role.external_id is not None:
            extra["ExternalId"] = self.role.external_id
        fetcher = AssumeRoleCredentialFetcher(
            client_creator=functools.partial(self._sts_client, account_id),
            source_credentials=self.home.session.get_credentials(),
            role_arn=role_arn,
            extra_args=extra,
        )
        try:
            metadata = fetcher.fetch_credentials()
        except (ClientError, BotoCoreError) as error:
            raise AccountUnavailableError(account_id, f"cannot assume {role_arn}: {describe(error)}") from error
        credentials = RefreshableCredentials.create_from_metadata(
            metadata, refresh_using=fetcher.fetch_credentials, method=_AssumedRoleProvider.METHOD
        )
        return self.home.with_session(_session_with(credentials, self.home.session, self.home_region))

    def _sts_client(self, account_id: str, service: str, **credentials: Any) -> Any:
        # botocore's fetcher makes one STS client per AssumeRole call: counted here.
        with self._lock:
            self._assume_role_calls[account_id] = self._assume_role_calls.get(account_id, 0) + 1
        return self.home.session.client(service, region_name=self.home_region, **credentials)


def _session_with(credentials: Credentials, home: boto3.Session, region: str) -> boto3.Session:
    """A boto3 session on `credentials` that shares the home session's loaded service models."""
    core = botocore.session.Session()
    core.register_component("data_loader", home._session.get_component("data_loader"))
    core.register_component("credential_provider", CredentialResolver([_AssumedRoleProvider(credentials)]))
    return boto3.Session(botocore_session=core, region_name=region)


def enabled_regions(clients: AwsClients, region: str) -> AccountRegions:
    """The account's regions and which are enabled (EC2 `DescribeRegions` with `AllRegions`)."""
    response = clients.client("ec2", region).describe_regions(AllRegions=True)
    return AccountRegions.from_opt_in_statuses(
        (item["RegionName"], item.get("OptInStatus", "opt-in-not-required")) for item in response["Regions"]
    )


class SessionAccountAccess:
    """One account through its session: stamped fetchers, and its regions (read once)."""

    def __init__(self, account_id: str, clients: AwsClients, region: str) -> None:
        self.account_id = account_id
        self.clients = clients
        self._region = region
        self._regions: AccountRegions | None = None
        self._lock = threading.Lock()

    def fetcher(self, spec: KindSpec) -> ResourceFetcher:
        return fetcher_for(spec, self.clients, self.account_id)

    def regions(self) -> AccountRegions:
        with self._lock:
            if self._regions is None:
                try:
                    self._regions = enabled_regions(self.clients, self._region)
                except (ClientError, BotoCoreError) as error:
                    raise AccountUnavailableError(
                        self.account_id, f"cannot list its regions (EC2 DescribeRegions): {describe(error)}"
                    ) from error
            return self._regions


class OrganizationDirectory:
    """`core.accounts.AccountDirectory` on AWS: Organizations through the home account, and the
    accounts through `AccountSessions`."""

    def __init__(self, sessions: AccountSessions) -> None:
        self.sessions = sessions

    @property
    def home_account_id(self) -> str:
        return self.sessions.home_account_id

    @property
    def home_region(self) -> str:
        return self.sessions.home_region

    @property
    def partition(self) -> Partition:
        return self.sessions.partition

    def _organizations(self) -> Any:
        return self.sessions.home.client("organizations", self.home_region)

    def organization_accounts(self, scope: OrganizationScope) -> list[OrganizationAccount]:
        return organizations.organization_accounts(self._organizations(), scope)

    def describe_accounts(self, account_ids: Sequence[str]) -> dict[str, OrganizationAccount | None]:
        return organizations.describe_accounts(self._organizations(), list(account_ids))

    def open(self, target: AccountTarget) -> SessionAccountAccess:
        return SessionAccountAccess(target.account_id, self.sessions.clients(target.account_id), self.home_region)


def shard_fetchers(
    directory: OrganizationDirectory | None, clients: AwsClients, caller: CallerIdentity
) -> Callable[[ShardTask], FetcherFactory]:
    """What a shard reads its account with: the home account's clients for a one-account config
    (`directory` None), else the account's read role through the organisation's directory."""

    def open_account(task: ShardTask) -> FetcherFactory:
        if directory is None:
            if task.account_id != caller.installation.account_id:
                raise AccountUnavailableError(task.account_id, "this config has no 'accounts' to read it")
            return lambda spec: fetcher_for(spec, clients, caller.installation.account_id)
        return directory.open(AccountTarget(task.account_id, AccountSource(task.account_source))).fetcher

    return open_account


RegionsFor = Callable[[int, ResourceConfig], Sequence[str]]


def single_account_regions_for(
    config: ExporterConfig, caller: CallerIdentity, clients: AwsClients
) -> tuple[RegionsFor | None, str | None]:
    """For a single-account sync whose config uses `["*"]` or a `regionPolicy`: the regions of each
    kind (`core.regions.single_account_regions`), and why the enabled regions could not be read
    (the `["*"]` kinds are then not read). (None, None) when the config needs neither."""
    selectors = [resource.selector.aws for resource in config.resources]
    if not any(selector.all_enabled_regions or selector.region_policy is not None for selector in selectors):
        return None, None
    regions: AccountRegions | None = None
    problem: str | None = None
    if any(selector.all_enabled_regions for selector in selectors):
        home = caller.installation
        try:
            regions = SessionAccountAccess(home.account_id, clients, home.region).regions()
        except AccountUnavailableError as error:
            problem = error.reason
    default = caller.installation.region
    return (lambda index, resource: single_account_regions(resource.selector.aws, regions, default)), problem
