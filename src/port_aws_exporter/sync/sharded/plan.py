"""Plan a sharded full sync: a run record and one shard message per (account, entry, region).

The accounts and regions are chosen as the unsharded sync chooses them (`core.accounts.select_accounts`,
`core.regions.plan_regions`); an account whose role cannot be assumed gets no shards, and a note in
the run record (its entities are kept: none of its scopes exists, so none is pruned). A region a
kind cannot be read in blocks that kind's blueprints' deletion in that account from the start, as
the unsharded sync's warning does.

The store is written before the messages are sent: a worker never receives a shard the store does
not know. A run whose messages were not all sent never completes its scopes, so it deletes nothing.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from port_aws_exporter.core.accounts import (
    AccountDirectory,
    AccountSource,
    AccountTarget,
    AccountUnavailableError,
    OrganizationAccount,
    OrganizationUnavailableError,
    select_accounts,
)
from port_aws_exporter.core.config import ExporterConfig, ResourceConfig
from port_aws_exporter.core.kinds.registry import spec_for
from port_aws_exporter.core.mapping import build_mappers
from port_aws_exporter.core.regions import AccountRegions, plan_regions, read_once
from port_aws_exporter.core.sharded_runs import RunStore, Scope, ShardTask, TaskQueue

log = logging.getLogger(__name__)

RegionsFor = Callable[[int, ResourceConfig], Sequence[str]]


@dataclass
class PlannedRun:
    """What the planner wrote and sent."""

    run_id: str
    started_at: datetime.datetime
    tasks: list[ShardTask]
    scopes: dict[Scope, int]
    blocked: dict[Scope, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at.isoformat(),
            "shards": len(self.tasks),
            "scopes": len(self.scopes),
            "blocked": {scope.key: reason for scope, reason in self.blocked.items()},
            "notes": list(self.notes),
        }


def new_run_id(now: datetime.datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


class ShardPlanner:
    """Plans one sharded run of `config`.

    `directory` reads the organisation (a config with `accounts`); without it the run is the home
    account's alone, each entry in `regions_for`'s regions (default: its selector's, else
    `home_region`).

    Example::

        planned = ShardPlanner(config, store, queue, home_account_id="123456789012", home_region="us-east-1").plan()
    """

    def __init__(
        self,
        config: ExporterConfig,
        store: RunStore,
        queue: TaskQueue,
        *,
        home_account_id: str,
        home_region: str,
        directory: AccountDirectory | None = None,
        regions_for: RegionsFor | None = None,
    ) -> None:
        if config.accounts is not None and directory is None:
            raise ValueError("a config with 'accounts' needs the organisation's directory to plan its shards")
        self.config = config
        self._store = store
        self._queue = queue
        self._home_account_id = home_account_id
        self._home_region = home_region
        self._directory = directory
        self._regions_for = regions_for
        self._blueprints = [mapper.blueprints for mapper in build_mappers(config)]

    def plan(self, now: datetime.datetime | None = None) -> PlannedRun:
        started_at = now or datetime.datetime.now(datetime.UTC)
        run = PlannedRun(new_run_id(started_at), started_at, [], {})
        if self.config.accounts is None:
            entries = range(len(self.config.resources))
            self._add_account(run, AccountTarget(self._home_account_id, AccountSource.HOME), entries, None)
        else:
            self._plan_organization(run)
        for task in run.tasks:
            for blueprint in task.blueprints:
                scope = Scope(task.account_id, blueprint)
                run.scopes[scope] = run.scopes.get(scope, 0) + 1
        run.blocked = {scope: reason for scope, reason in run.blocked.items() if scope in run.scopes}
        self._store.create_run(run.run_id, started_at, run.tasks, run.scopes, run.blocked, run.notes)
        self._queue.send([task.body() for task in run.tasks])
        self._store.mark_running(run.run_id)
        log.info("sharded sync planned", extra={"run_id": run.run_id, "shards": len(run.tasks)})
        return run

    # -- accounts ----------------------------------------------------------------------------

    def _plan_organization(self, run: PlannedRun) -> None:
        accounts = self.config.accounts
        directory = self._directory
        assert accounts is not None and directory is not None
        organization: list[OrganizationAccount] | None = None
        if accounts.organization is not None:
            try:
                organization = directory.organization_accounts(accounts.organization)
            except OrganizationUnavailableError as error:
                run.notes.append(f"cannot list the organisation's accounts: {error}")
                organization = []
        explicit = directory.describe_accounts(accounts.ids) if accounts.ids else {}
        selection = select_accounts(accounts, directory.home_account_id, organization, explicit)
        run.notes += [f"account {account} left out: {why}" for account, why in selection.left_out.items()]
        run.notes += [
            f"account {account.account_id} departed ({account.reason}): its entities are kept"
            for account in selection.departed
        ]
        of_organization = [
            index for index, entry in enumerate(self.config.resources) if spec_for(entry.kind).organization_level
        ]
        of_accounts = [index for index in range(len(self.config.resources)) if index not in of_organization]
        if of_organization:
            home = AccountTarget(directory.home_account_id, AccountSource.HOME)
            self._add_account(run, home, of_organization, directory)
        for target in selection.targets:
            self._add_account(run, target, of_accounts, directory)

    def _add_account(
        self, run: PlannedRun, target: AccountTarget, entries: Sequence[int], directory: AccountDirectory | None
    ) -> None:
        try:
            regions_of = self._regions(target, entries, directory, run)
        except AccountUnavailableError as error:
            run.notes.append(f"account {target.account_id} unavailable: {error.reason}; no shards, its entities kept")
            log.warning("account not planned", extra={"account": target.account_id, "reason": error.reason})
            return
        for index in entries:
            kind = self.config.resources[index].kind
            for region in regions_of[index]:
                run.tasks.append(
                    ShardTask(
                        run_id=run.run_id,
                        shard_id=f"{target.account_id}/{index}/{region}",
                        account_id=target.account_id,
                        account_source=target.source.value,
                        entry=index,
                        kind=kind,
                        region=region,
                        blueprints=tuple(self._blueprints[index]),
                        started_at=run.started_at,
                    )
                )

    def _regions(
        self, target: AccountTarget, entries: Sequence[int], directory: AccountDirectory | None, run: PlannedRun
    ) -> dict[int, list[str]]:
        resources = self.config.resources
        if directory is None:
            if self._regions_for is not None:
                return {index: list(self._regions_for(index, resources[index])) for index in entries}
            return {index: resources[index].selector.aws.regions or [self._home_region] for index in entries}
        access = directory.open(target)
        regions: AccountRegions | None = None
        unknown: str | None = None
        if any(
            resources[index].selector.aws.all_enabled_regions and not read_once(spec_for(resources[index].kind))
            for index in entries
        ):
            try:
                regions = access.regions()
            except AccountUnavailableError as error:
                unknown = error.reason
        planned: dict[int, list[str]] = {}
        for index in entries:
            plan = plan_regions(
                resources[index].selector.aws,
                spec_for(resources[index].kind),
                partition=directory.partition,
                default_region=directory.home_region,
                account_regions=regions,
                regions_unknown_reason=unknown,
            )
            planned[index] = plan.regions
            for skip in plan.skipped[:1]:
                for blueprint in self._blueprints[index]:
                    run.blocked.setdefault(
                        Scope(target.account_id, blueprint),
                        f"{resources[index].kind} was not read in {skip.region}: {skip.reason}",
                    )
        return planned
