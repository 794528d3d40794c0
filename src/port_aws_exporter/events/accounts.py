"""Which account an event message is applied in, and through what: the event path's routing.

An event names its account (a raw event's `account`, a seed message's optional `account` field; by
default the exporter's own). Each account the config covers has an `AccountRoute`: the fetchers
on that account's session (its assumed role), and its own view of the catalog with its own
installation, so that a delete removes only what that account's installation owns, as the full
sync of that account does. An account the config does not cover raises `AccountNotCovered`: the
message is acknowledged as ignored, with a log line.

`OwnAccount` serves a config without `accounts` (the exporter's own account only);
`OrganizationRoutes` a config with `accounts`: the accounts `core.accounts.select_accounts` picks,
the organisation's membership read through the `AccountDirectory` and kept for
`refresh_seconds` (an account not in the kept list makes it read again, at most every
`miss_refresh_seconds`, so an account that just joined is served within a minute).

    routes = OrganizationRoutes(config.accounts, directory, port.for_installation, home=home_route)
    route = routes.route("222222222222")   # raises AccountNotCovered, AccountUnavailableError
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from port_aws_exporter.core.accounts import AccountDirectory, AccountSelection, select_accounts
from port_aws_exporter.core.catalog import Catalog
from port_aws_exporter.core.config import AccountsConfig
from port_aws_exporter.core.fetching import FetcherFactory
from port_aws_exporter.core.installation import Installation

__all__ = ["AccountNotCovered", "AccountRoute", "AccountRoutes", "OrganizationRoutes", "OwnAccount"]

DEFAULT_REFRESH_SECONDS = 300.0
DEFAULT_MISS_REFRESH_SECONDS = 60.0

CatalogFor = Callable[[Installation], Catalog]


@dataclass(frozen=True)
class AccountRoute:
    """How the event path reads and writes one account's resources."""

    account_id: str
    fetchers: FetcherFactory
    catalog: Catalog
    owned_entities_query: Mapping[str, Any]


class AccountNotCovered(Exception):
    """An event of an account the config does not read: ignored, with `reason`."""

    def __init__(self, account_id: str, reason: str) -> None:
        super().__init__(f"account {account_id}: {reason}")
        self.account_id = account_id
        self.reason = reason


class AccountRoutes(Protocol):
    """The routes of the accounts a config covers."""

    @property
    def home_account_id(self) -> str: ...

    def route(self, account_id: str) -> AccountRoute:
        """The account's route; raises AccountNotCovered, or AccountUnavailableError (transient:
        its role cannot be assumed now) or OrganizationUnavailableError."""
        ...


class OwnAccount:
    """A config without `accounts`: only the exporter's own account."""

    def __init__(self, home: AccountRoute) -> None:
        self.home = home

    @property
    def home_account_id(self) -> str:
        return self.home.account_id

    def route(self, account_id: str) -> AccountRoute:
        if account_id == self.home.account_id:
            return self.home
        raise AccountNotCovered(
            account_id,
            f"the config has no accounts section, so the exporter serves only its own account {self.home.account_id}",
        )


class OrganizationRoutes:
    """A config with `accounts`: the selected accounts, each through its session (thread-safe)."""

    def __init__(
        self,
        accounts: AccountsConfig,
        directory: AccountDirectory,
        catalog_for: CatalogFor,
        *,
        home: AccountRoute | None = None,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
        miss_refresh_seconds: float = DEFAULT_MISS_REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._accounts = accounts
        self._directory = directory
        self._catalog_for = catalog_for
        self._home = home
        self._refresh = refresh_seconds
        self._miss_refresh = miss_refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._selection: AccountSelection | None = None
        self._selected_at = 0.0
        self._routes: dict[str, AccountRoute] = {}

    @property
    def home_account_id(self) -> str:
        return self._directory.home_account_id

    def route(self, account_id: str) -> AccountRoute:
        with self._lock:
            cached = self._routes.get(account_id)
            if cached is not None:
                return cached
            selection = self._current_selection(account_id)
            target = next((item for item in selection.targets if item.account_id == account_id), None)
            if target is None:
                raise AccountNotCovered(account_id, self._why_not(selection, account_id))
            if target.home and self._home is not None:
                route = self._home
            else:
                access = self._directory.open(target)  # raises AccountUnavailableError
                installation = Installation(account_id, self._directory.home_region)
                route = AccountRoute(
                    account_id, access.fetcher, self._catalog_for(installation), installation.owned_entities_query
                )
            self._routes[account_id] = route
            return route

    def _current_selection(self, account_id: str) -> AccountSelection:
        age = self._clock() - self._selected_at
        known = self._selection is not None and any(t.account_id == account_id for t in self._selection.targets)
        if self._selection is None or age >= self._refresh or (not known and age >= self._miss_refresh):
            self._selection = self._select()
            self._selected_at = self._clock()
            # An account that left is no longer served.
            covered = {target.account_id for target in self._selection.targets}
            self._routes = {key: route for key, route in self._routes.items() if key in covered}
        return self._selection

    def _select(self) -> AccountSelection:
        accounts = self._accounts
        organization = (
            self._directory.organization_accounts(accounts.organization) if accounts.organization is not None else None
        )
        return select_accounts(accounts, self._directory.home_account_id, organization)

    def _why_not(self, selection: AccountSelection, account_id: str) -> str:
        if account_id in selection.left_out:
            return f"the config leaves it out ({selection.left_out[account_id]})"
        departed = next((item for item in selection.departed if item.account_id == account_id), None)
        if departed is not None:
            return f"it has left the organisation ({departed.reason})"
        return "it is not one of the accounts the config's accounts section selects"
