"""A full sync of an AWS Organization: one `FullSync` per account, accounts in parallel.

At every start the accounts are read afresh (`core.accounts.select_accounts` over what AWS
Organizations says). Then:

1. the organisation's own kinds (`AWS::Organizations::Account`) are synced once, with the home
   account's credentials, before anything relates to them;
2. each account is synced by its own `FullSync`, at most `accounts.concurrency` at a time: its own
   fetchers (its assumed role), its own User-Agent (so its entities' `$datasource` names it), its
   own regions (`core.regions.plan_regions`: `["*"]`, `regionPolicy`, global kinds once), its own
   report section and its own stale deletion, per (account, blueprint). One `FullSync` per
   (account, kinds) keeps the unit of work (account, region, kind) visible for sharding;
3. accounts the organisation lists as closed or suspended are not read; their entities are kept,
   and deleted only when asked (`accounts.deleteDepartedAccounts`, `sync --delete-departed-accounts`),
   never by the share threshold.

An account whose role cannot be assumed, or a region denied, not enabled or not offered, is a
warning with its reason, and keeps stale deletion away from its own scope only (that account, or
that account's blueprints of the kind); other errors block their blueprint's deletion in that account.
Nothing one account does blocks another's work or deletions.

A run asked to stop (`SyncOptions.should_stop`, Ctrl-C) opens no further account: the accounts
being synced stop as a single-account sync does, the others are reported `interrupted`, and the
departed accounts are not looked at.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from port_aws_exporter.core.accounts import (
    AccountDirectory,
    AccountSelection,
    AccountSource,
    AccountTarget,
    AccountUnavailableError,
    DepartedAccount,
    OrganizationAccount,
    OrganizationUnavailableError,
    select_accounts,
)
from port_aws_exporter.core.catalog import Catalog
from port_aws_exporter.core.config import AccountsConfig, ExporterConfig
from port_aws_exporter.core.fetching import FetchError, FetchErrorKind
from port_aws_exporter.core.installation import Installation
from port_aws_exporter.core.kinds.registry import spec_for
from port_aws_exporter.core.mapping import build_mappers
from port_aws_exporter.core.regions import AccountRegions, RegionPlan, plan_regions, read_once
from port_aws_exporter.sync.full_sync import STALE_SEARCH_PAGE_SIZE, FullSync, SyncOptions
from port_aws_exporter.sync.report import KindRegionReport, SyncReport, SyncWarning

log = logging.getLogger(__name__)

CatalogFor = Callable[[Installation], Catalog]
# Entities written by several accounts reported one by one, at most.
MAX_SHARED_WARNINGS = 20
AccountProgress = Callable[[str, KindRegionReport], None]


class AccountStatus:
    SYNCED = "synced"
    UNAVAILABLE = "unavailable"
    FAILED = "failed"
    DEPARTED = "departed"
    # Not synced: the run was asked to stop before this account's turn.
    INTERRUPTED = "interrupted"


@dataclass
class AccountReport:
    """One account's part of the run."""

    account_id: str
    name: str
    source: str
    status: str
    reason: str | None = None
    report: SyncReport | None = None
    # Warnings found before its sync started (regions it cannot be read in), and its own.
    warnings: list[SyncWarning] = field(default_factory=list)
    departed_entities: int = 0
    departed_deleted: int = 0

    @property
    def all_warnings(self) -> list[SyncWarning]:
        return self.warnings + (self.report.warnings if self.report is not None else [])

    @property
    def error_count(self) -> int:
        failed = 1 if self.status == AccountStatus.FAILED else 0
        return failed + (self.report.error_count if self.report is not None else 0)

    def as_dict(self) -> dict[str, Any]:
        report = self.report
        return {
            "account": self.account_id,
            "name": self.name,
            "source": self.source,
            "status": self.status,
            "reason": self.reason,
            "listed": report.listed if report else 0,
            "written": report.written if report else 0,
            "unchanged": report.unchanged if report else 0,
            "failed": report.failed if report else 0,
            "deleted": (report.deleted if report else 0) + self.departed_deleted,
            "deletion_skipped": dict(report.deletion_skipped) if report else {},
            "error_count": self.error_count,
            "warning_count": len(self.all_warnings),
            **({"departed_entities": self.departed_entities} if self.status == AccountStatus.DEPARTED else {}),
        }


@dataclass
class OrganizationReport:
    """The whole multi-account run. `as_dict` keeps the single-account report's keys (summed over
    accounts, each kind, error and warning with its `account`) and adds `accounts`."""

    accounts: list[AccountReport] = field(default_factory=list)
    # The organisation's own kinds (its accounts), read with the home account's credentials.
    organization: AccountReport | None = None
    errors: list[str] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    dry_run: bool = False
    # Asked to stop before the end: partial, no stale or departed-account deletion ran.
    interrupted: bool = False

    @property
    def parts(self) -> list[AccountReport]:
        return ([self.organization] if self.organization is not None else []) + self.accounts

    @property
    def listed(self) -> int:
        return sum(part.report.listed for part in self.parts if part.report is not None)

    @property
    def written(self) -> int:
        return sum(part.report.written for part in self.parts if part.report is not None)

    @property
    def unchanged(self) -> int:
        """Entities already as mapped, so not written (`written` excludes them, but `--write-all`)."""
        return sum(part.report.unchanged for part in self.parts if part.report is not None)

    @property
    def failed(self) -> int:
        return sum(part.report.failed for part in self.parts if part.report is not None)

    @property
    def deleted(self) -> int:
        return sum((part.report.deleted if part.report else 0) + part.departed_deleted for part in self.parts)

    @property
    def error_count(self) -> int:
        return len(self.errors) + sum(part.error_count for part in self.parts)

    @property
    def warnings(self) -> list[tuple[str, SyncWarning]]:
        return [(part.account_id, warning) for part in self.parts for warning in part.all_warnings]

    def as_dict(self) -> dict[str, Any]:
        kinds, errors, skipped = [], [], {}
        for part in self.parts:
            if part.report is None:
                continue
            kinds += [{**kind.as_dict(), "account": part.account_id} for kind in part.report.kinds]
            errors += [{**error.as_dict(), "account": part.account_id} for error in part.report.errors]
            skipped.update({f"{part.account_id}/{bp}": why for bp, why in part.report.deletion_skipped.items()})
        errors += [
            {"kind": None, "region": None, "identifier": None, "error": error, "account": None} for error in self.errors
        ]
        errors += [
            {"kind": None, "region": None, "identifier": None, "error": part.reason, "account": part.account_id}
            for part in self.parts
            if part.status == AccountStatus.FAILED
        ]
        report: dict[str, Any] = {
            "kinds": kinds,
            "deleted": self.deleted,
            "deletion_skipped": skipped,
            "errors": errors,
            "error_count": self.error_count,
            "warnings": [{**warning.as_dict(), "account": account} for account, warning in self.warnings],
            "seconds": round(self.seconds, 3),
            "accounts": [part.as_dict() for part in self.accounts],
            "left_out": dict(self.left_out),
        }
        if self.organization is not None:
            report["organization"] = self.organization.as_dict()
        if self.dry_run:
            report["dry_run"] = True
            report["changes"] = {
                f"{part.account_id}/{blueprint}": changes.as_dict()
                for part in self.parts
                if part.report is not None
                for blueprint, changes in part.report.changes.items()
            }
        if self.interrupted:
            report["interrupted"] = True
        return report


def _region_warning(error: FetchError) -> str | None:
    """Listing failures that are warnings in a multi-account sync: the region (or the kind in it)
    is denied to the role, or not offered there."""
    if error.error_kind is FetchErrorKind.ACCESS_DENIED:
        return f"denied: {error.message}"
    if error.error_kind is FetchErrorKind.UNSUPPORTED:
        return f"not offered: {error.message}"
    return None


class OrganizationSync:
    """One multi-account full sync (the config's `accounts` section must be set).

    Example::

        directory = OrganizationDirectory(AccountSessions(AwsClients(), caller, RoleSettings.of(config.accounts)))
        report = OrganizationSync(config, directory, lambda installation: port.for_installation(installation)).run()
    """

    def __init__(
        self,
        config: ExporterConfig,
        directory: AccountDirectory,
        catalog_for: CatalogFor,
        options: SyncOptions | None = None,
        *,
        delete_departed: bool | None = None,
        on_progress: AccountProgress | None = None,
    ) -> None:
        if config.accounts is None:
            raise ValueError("a multi-account sync needs the config's 'accounts' section")
        self.config = config
        self.accounts: AccountsConfig = config.accounts
        self._directory = directory
        self._catalog_for = catalog_for
        self._options = options or SyncOptions()
        self._delete_departed = self.accounts.delete_departed_accounts if delete_departed is None else delete_departed
        self._on_progress = on_progress
        self._organization_entries = [
            index for index, entry in enumerate(config.resources) if spec_for(entry.kind).organization_level
        ]
        self._account_entries = [
            index for index in range(len(config.resources)) if index not in self._organization_entries
        ]
        mappers = build_mappers(config)
        self._blueprints = {index: mapper.blueprints for index, mapper in enumerate(mappers)}
        _check_disjoint(self._blueprints, self._organization_entries, self._account_entries)
        self._lock = threading.Lock()
        self._written: dict[str, Mapping[str, set[str]]] = {}

    def run(self) -> OrganizationReport:
        started = time.monotonic()
        report = OrganizationReport(dry_run=self._options.dry_run)
        selection = self._select(report)
        report.left_out = dict(selection.left_out)
        home = AccountTarget(self._directory.home_account_id, AccountSource.HOME)
        if self._organization_entries:
            report.organization = self._sync_account(home, self._organization_entries)
        with ThreadPoolExecutor(max_workers=self.accounts.concurrency, thread_name_prefix="account") as pool:
            futures = [pool.submit(self._sync_account, target, self._account_entries) for target in selection.targets]
            report.accounts = [future.result() for future in futures]
        report.interrupted = self._options.should_stop()
        if report.interrupted:
            log.warning("organization sync interrupted: departed accounts are not looked at")
        else:
            report.accounts += [self._departed(account) for account in selection.departed]
        self._warn_shared_entities(report)
        report.seconds = time.monotonic() - started
        log.info(
            "organization sync done",
            extra={
                "accounts": len(report.accounts),
                "listed": report.listed,
                "written": report.written,
                "failed": report.failed,
                "deleted": report.deleted,
                "errors": report.error_count,
                "seconds": round(report.seconds, 3),
                "interrupted": report.interrupted,
            },
        )
        return report

    # -- which accounts ----------------------------------------------------------------------

    def _select(self, report: OrganizationReport) -> AccountSelection:
        organization: list[OrganizationAccount] | None = None
        if self.accounts.organization is not None:
            try:
                organization = self._directory.organization_accounts(self.accounts.organization)
            except OrganizationUnavailableError as error:
                # Without the list, neither the organisation's accounts nor the departed ones are known;
                # the home account and the explicit ids are still read.
                report.errors.append(f"cannot list the organisation's accounts: {error}")
                log.error("organization accounts unavailable", extra={"error": str(error)})
                organization = []
        explicit = self._directory.describe_accounts(self.accounts.ids) if self.accounts.ids else {}
        return select_accounts(self.accounts, self._directory.home_account_id, organization, explicit)

    # -- one account ---------------------------------------------------------------------------

    def _sync_account(self, target: AccountTarget, entries: Sequence[int]) -> AccountReport:
        part = AccountReport(target.account_id, target.name, target.source.value, AccountStatus.SYNCED)
        if self._options.should_stop():
            part.status, part.reason = AccountStatus.INTERRUPTED, "not synced: the sync was interrupted first"
            return part
        try:
            access = self._directory.open(target)
            plans, part.warnings = self._plans(access, entries)
        except AccountUnavailableError as error:
            part.status, part.reason = AccountStatus.UNAVAILABLE, error.reason
            part.warnings = [SyncWarning("*", "*", error.reason)]
            log.warning("account skipped", extra={"account": target.account_id, "reason": error.reason})
            return part
        installation = Installation(target.account_id, self._directory.home_region)
        blocked = {
            blueprint: f"{self.config.resources[index].kind} was not read in {skip.region}: {skip.reason}"
            for index, plan in plans.items()
            for skip in plan.skipped[:1]
            for blueprint in self._blueprints[index]
        }
        options = replace(
            self._options,
            default_region=self._directory.home_region,
            entries=list(entries),
            regions_for=lambda index, resource: plans[index].regions,
            blocked_deletions=blocked,
            warning_for=_region_warning,
            on_progress=self._progress(target.account_id),
            progress_account=target.account_id,
            should_pause=lambda: False,
        )
        try:
            sync = FullSync(
                self.config, access.fetcher, self._catalog_for(installation), installation.owned_entities_query, options
            )
            outcome = sync.run()
            part.report = outcome.report
            with self._lock:
                self._written[target.account_id] = outcome.written
        except Exception as error:  # one account's failure never stops the others
            part.status, part.reason = AccountStatus.FAILED, f"the sync of this account failed: {error}"
            log.exception("account sync failed", extra={"account": target.account_id})
        return part

    def _plans(self, access: Any, entries: Sequence[int]) -> tuple[dict[int, RegionPlan], list[SyncWarning]]:
        """The regions of each entry in this account, and a warning per region it cannot be read in."""
        regions: AccountRegions | None = None
        unknown: str | None = None
        # Only `["*"]` needs the account's regions: a named region the account has not enabled
        # refuses the role's token there, a warning like any denied region.
        needs_regions = any(
            self.config.resources[index].selector.aws.all_enabled_regions
            and not read_once(spec_for(self.config.resources[index].kind))
            for index in entries
        )
        if needs_regions:
            try:
                regions = access.regions()
            except AccountUnavailableError as error:
                unknown = error.reason
        plans: dict[int, RegionPlan] = {}
        warnings: list[SyncWarning] = []
        for index in entries:
            entry = self.config.resources[index]
            plan = plan_regions(
                entry.selector.aws,
                spec_for(entry.kind),
                partition=self._directory.partition,
                default_region=self._directory.home_region,
                account_regions=regions,
                regions_unknown_reason=unknown,
            )
            plans[index] = plan
            warnings += [SyncWarning(entry.kind, skip.region, skip.reason) for skip in plan.skipped]
        return plans, warnings

    def _progress(self, account_id: str) -> Callable[[KindRegionReport], None]:
        """After every page: the options' own hook, then the organisation's, told the account."""
        on_page, on_progress = self._options.on_progress, self._on_progress
        if on_progress is None:
            return on_page

        def both(report: KindRegionReport) -> None:
            on_page(report)
            on_progress(account_id, report)

        return both

    def _warn_shared_entities(self, report: OrganizationReport) -> None:
        """Entities that several accounts wrote: their identifiers are not unique across accounts, so
        one entity stands for several resources and its last writer owns it."""
        writers: dict[tuple[str, str], str] = {}
        shared: dict[tuple[str, str], list[str]] = {}
        for account, written in sorted(self._written.items()):
            for blueprint, identifiers in written.items():
                for identifier in identifiers:
                    first = writers.setdefault((blueprint, identifier), account)
                    if first != account:
                        shared.setdefault((blueprint, identifier), [first]).append(account)
        self._written.clear()
        if not shared:
            return
        parts = {part.account_id: part for part in report.accounts}
        for (blueprint, identifier), accounts in sorted(shared.items())[:MAX_SHARED_WARNINGS]:
            reason = (
                f"{blueprint}/{identifier} was written by accounts {', '.join(accounts)}: identifiers must be "
                'unique across accounts (e.g. .Name + "@" + .__AccountId)'
            )
            parts[accounts[-1]].warnings.append(SyncWarning("", "", reason))
        if len(shared) > MAX_SHARED_WARNINGS:
            log.warning("entities written by several accounts", extra={"count": len(shared)})

    # -- accounts that left ----------------------------------------------------------------------

    def _departed(self, account: DepartedAccount) -> AccountReport:
        """A departed account's entities: counted and kept, or deleted when asked (no threshold)."""
        part = AccountReport(account.account_id, account.name, AccountSource.ORGANIZATION.value, AccountStatus.DEPARTED)
        part.reason = account.reason
        installation = Installation(account.account_id, self._directory.home_region)
        catalog = self._catalog_for(installation)
        blueprints = list(dict.fromkeys(bp for index in self._account_entries for bp in self._blueprints[index]))
        try:
            owned = {bp: _owned_identifiers(catalog, bp, installation.owned_entities_query) for bp in blueprints}
            part.departed_entities = sum(len(identifiers) for identifiers in owned.values())
            if self._delete_departed and not self._options.dry_run:
                part.departed_deleted = sum(len(catalog.bulk_delete(bp, ids)) for bp, ids in owned.items() if ids)
                part.reason += f"; its {part.departed_deleted} entities were deleted"
            elif part.departed_entities:
                verb = "would be deleted" if self._delete_departed else "are kept"
                hint = "" if self._delete_departed else " (delete them with --delete-departed-accounts)"
                part.reason += f"; its {part.departed_entities} entities {verb}{hint}"
        except Exception as error:  # reading or deleting in the catalog: this account only
            part.status, part.reason = AccountStatus.FAILED, f"{account.reason}; handling its entities failed: {error}"
            log.exception("departed account failed", extra={"account": account.account_id})
        log.info("departed account", extra={"account": account.account_id, "reason": part.reason})
        return part


def _owned_identifiers(catalog: Catalog, blueprint: str, query: Mapping[str, Any]) -> list[str]:
    # Meta-properties take Port's `$` prefix in a search body's `include`; a bare name is a property.
    entities = catalog.iter_blueprint_entities(
        blueprint, query, include=["$identifier"], page_size=STALE_SEARCH_PAGE_SIZE
    )
    return [entity["identifier"] for entity in entities]


def _check_disjoint(blueprints: Mapping[int, list[str]], organization: list[int], accounts: list[int]) -> None:
    """The organisation's kinds and the accounts' kinds must write different blueprints: each part
    prunes its own blueprints, and would prune the other's entities in a shared one."""
    of_organization = {bp for index in organization for bp in blueprints[index]}
    shared = sorted(of_organization & {bp for index in accounts for bp in blueprints[index]})
    if shared:
        raise ValueError(
            f"blueprint(s) {', '.join(shared)} are written both by AWS::Organizations::Account and by other kinds; "
            "give the organisation's accounts a blueprint of their own"
        )
