"""Run one shard of a sharded full sync, and the scope deletions its finish makes due.

A shard is one `FullSync` over one (account, entry, region) without stale deletion
(`SyncOptions.delete_stale`): it lists, maps and writes change-only through the process's one Port
budget, exactly as the unsharded sync does. Its identifiers (written or unchanged), the entities it
kept and the blueprints it blocks go to the store with its finish; the worker whose finish takes a
scope's counter to 0 claims the scope and runs its deletion through `FullSync.delete_stale`, with
today's rules over the union of the scope's shards.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum

from port_aws_exporter.core.accounts import AccountUnavailableError
from port_aws_exporter.core.catalog import Catalog
from port_aws_exporter.core.config import ExporterConfig
from port_aws_exporter.core.fetching import FetcherFactory
from port_aws_exporter.core.installation import Installation
from port_aws_exporter.core.mapping import build_mappers
from port_aws_exporter.core.sharded_runs import DeletionStatus, RunStore, Scope, ShardResult, ShardTask
from port_aws_exporter.sync.accounts import _region_warning
from port_aws_exporter.sync.checkpoint import SyncCheckpoint
from port_aws_exporter.sync.full_sync import FullSync, SyncOptions

log = logging.getLogger(__name__)

# The account's fetchers; raises AccountUnavailableError when its role cannot be assumed.
OpenAccount = Callable[[ShardTask], FetcherFactory]
CatalogFor = Callable[[Installation], Catalog]


class ShardOutcome(StrEnum):
    DONE = "done"
    FAILED = "failed"
    DUPLICATE = "duplicate"


class ShardRunner:
    """Runs shard tasks for one worker process (thread-safe: nothing is kept between tasks)."""

    def __init__(
        self,
        config: ExporterConfig,
        store: RunStore,
        open_account: OpenAccount,
        catalog_for: CatalogFor,
        *,
        home_region: str,
        max_attempts: int = 3,
    ) -> None:
        self.config = config
        self._store = store
        self._open_account = open_account
        self._catalog_for = catalog_for
        self._home_region = home_region
        self._max_attempts = max_attempts
        self._mappers = build_mappers(config)

    def run(self, task: ShardTask, receive_count: int = 1) -> ShardOutcome:
        """Run the shard; an unexpected error is raised (the message comes back) until its last
        attempt, which marks the shard failed."""
        if not self._store.start_shard(task):
            self._claim_due(task)  # a worker that died between its finish and its claims
            return ShardOutcome.DUPLICATE
        failure = self._mismatch(task)
        result: ShardResult | None = None
        if failure is None:
            try:
                result = self._sync(task)
            except AccountUnavailableError as error:
                failure = f"account {task.account_id} unavailable: {error.reason}"
            except Exception as error:
                if receive_count < self._max_attempts:
                    raise
                failure = f"attempt {receive_count} of {self._max_attempts} failed: {error}"
        if not self._store.finish_shard(task, result, failure):
            return ShardOutcome.DUPLICATE
        self._claim_due(task)
        return ShardOutcome.DONE if failure is None else ShardOutcome.FAILED

    def _mismatch(self, task: ShardTask) -> str | None:
        resources = self.config.resources
        if task.entry >= len(resources) or resources[task.entry].kind != task.kind:
            return f"this worker's config has no entry {task.entry} of kind {task.kind}: it differs from the planner's"
        return None

    def _installation(self, task: ShardTask) -> Installation:
        return Installation(task.account_id, self._home_region)

    def _sync(self, task: ShardTask) -> ShardResult:
        installation = self._installation(task)
        options = SyncOptions(
            default_region=self._home_region,
            entries=[task.entry],
            regions_for=lambda index, resource: [task.region],
            warning_for=_region_warning,
            delete_stale=False,
        )
        sync = FullSync(
            self.config,
            self._open_account(task),
            self._catalog_for(installation),
            installation.owned_entities_query,
            options,
        )
        outcome = sync.run()
        report = outcome.report
        return ShardResult(
            # What the unsharded report counts per kind and region (`sync.sharded.run_report`).
            counts={
                "listed": report.listed,
                "written": report.written,
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "failed": report.failed,
                "filtered": sum(kind.filtered for kind in report.kinds),
                "not_found": sum(kind.not_found for kind in report.kinds),
                "errors": report.error_count,
                "warnings": len(report.warnings),
                "milliseconds": round(sum(kind.seconds for kind in report.kinds) * 1000),
            },
            seen={blueprint: set(ids) for blueprint, ids in outcome.written.items()},
            unsettled={blueprint: set(ids) for blueprint, ids in outcome.unsettled.items()},
            blocked={bp: why for bp, why in outcome.blocked.items() if bp in task.blueprints},
            errors=[f"{error.kind} {error.region}: {error.error}" for error in report.errors[:10]],
        )

    # -- scope deletion ----------------------------------------------------------------------

    def _claim_due(self, task: ShardTask) -> None:
        for blueprint in task.blueprints:
            self.delete_scope(task, Scope(task.account_id, blueprint))

    def delete_scope(self, task: ShardTask, scope: Scope) -> None:
        """Run the scope's stale deletion if this caller claims it (its shards all finished)."""
        state = self._store.claim_deletion(task.run_id, scope)
        if state is None:
            return
        if state.blocked is not None:
            self._store.finish_deletion(task.run_id, scope, DeletionStatus.SKIPPED, 0, state.blocked)
            return
        seen, unsettled = self._store.seen_identifiers(task.run_id, scope)
        entries = [index for index, mapper in enumerate(self._mappers) if scope.blueprint in mapper.blueprints]
        installation = self._installation(task)

        def no_fetchers(spec: object) -> object:
            raise RuntimeError("a scope's deletion reads no AWS")

        sync = FullSync(
            self.config,
            no_fetchers,  # type: ignore[arg-type]
            self._catalog_for(installation),
            installation.owned_entities_query,
            SyncOptions(default_region=self._home_region, entries=entries),
        )
        state_of_run = SyncCheckpoint.start(task.started_at)
        state_of_run.written[scope.blueprint] = seen
        state_of_run.unsettled[scope.blueprint] = unsettled
        report = sync.delete_stale(state_of_run, [scope.blueprint])
        if scope.blueprint in report.deletion_errors:
            status, reason = DeletionStatus.FAILED, report.deletion_errors[scope.blueprint]
        elif scope.blueprint in report.deletion_skipped:
            status, reason = DeletionStatus.SKIPPED, report.deletion_skipped[scope.blueprint]
        else:
            status, reason = DeletionStatus.DONE, None
        self._store.finish_deletion(task.run_id, scope, status, report.deleted, reason)
        log.info("scope deletion", extra={"scope": scope.key, "status": status.value, "deleted": report.deleted})
