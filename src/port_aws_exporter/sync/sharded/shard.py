"""Run one shard of a sharded full sync, and the scope deletions its finish makes due.

A shard is one `FullSync` over one (account, entry, region) without stale deletion
(`SyncOptions.delete_stale`): it lists, maps and writes change-only through the process's one Port
budget, exactly as the unsharded sync does. Its identifiers (written or unchanged), the entities it
kept and the blueprints it blocks go to the store with its finish; the worker whose finish takes a
scope's counter to 0 claims the scope and runs its deletion through `FullSync.delete_stale`, with
today's rules over the union of the scope's shards.

A shard whose relations point at a blueprint an earlier entry of the config writes waits (it goes back
to the queue, delayed) while a shard of that entry in its account is unfinished: the unsharded sync
writes entries in config order, and Port refuses a relation to an entity not yet written.

A shard that reaches its `PartLimits` (its time, or its count of resources listed) stops after the
page in hand, as a checkpointed sync does (`SyncOptions.should_pause`): that page's writes finish,
the part is done with what it saw, and a continuation (the same shard, listing on from the page
token) joins the scope in the same transaction, so the scope's deletion waits for the last part.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from port_aws_exporter.core.accounts import AccountUnavailableError
from port_aws_exporter.core.catalog import Catalog
from port_aws_exporter.core.config import ExporterConfig
from port_aws_exporter.core.fetching import FetcherFactory
from port_aws_exporter.core.installation import Installation
from port_aws_exporter.core.kinds.registry import spec_for
from port_aws_exporter.core.mapping import build_mappers
from port_aws_exporter.core.sharded_runs import DeletionStatus, RunStore, Scope, ShardResult, ShardTask, TaskQueue
from port_aws_exporter.sync.accounts import _region_warning
from port_aws_exporter.sync.checkpoint import SyncCheckpoint
from port_aws_exporter.sync.full_sync import FullSync, SyncOptions
from port_aws_exporter.sync.report import KindRegionReport

log = logging.getLogger(__name__)

# The account's fetchers; raises AccountUnavailableError when its role cannot be assumed.
OpenAccount = Callable[[ShardTask], FetcherFactory]
CatalogFor = Callable[[Installation], Catalog]


class ShardOutcome(StrEnum):
    DONE = "done"
    FAILED = "failed"
    DUPLICATE = "duplicate"
    # Done up to its limits; a continuation is queued for the rest of its listing.
    CONTINUED = "continued"
    # Sent back, delayed, until the shards of the config's earlier entries in its account are over.
    WAITING = "waiting for earlier entries"
    # A duplicate delivery of a finished shard whose scope's deletion another attempt has claimed
    # and not finished: its message must come back (not be settled), to take the claim over once
    # its lease expires, should that claimer have died.
    DELETION_CLAIMED = "deletion claimed elsewhere"


# A shard whose entry writes relations waits for the shards of its account that write their targets'
# blueprints from entries before its own (the unsharded sync writes entries in config order,
# relation targets configured first): sent back with this SQS delay, at most this many times (ten
# minutes), after which it writes anyway, and a target still missing is its entities' error, as it
# would be in one process.
RELATION_WAIT_SECONDS = 5
MAX_RELATION_WAITS = 120


@dataclass(frozen=True)
class PartLimits:
    """When an attempt of a shard hands the rest of its listing on to a continuation, after the
    page in hand: at `hand_on_at` (`time.monotonic()`), or once it has listed `max_listed`
    resources. None: no limit."""

    hand_on_at: float | None = None
    max_listed: int | None = None

    def reached(self, listed: int) -> bool:
        if self.hand_on_at is not None and time.monotonic() >= self.hand_on_at:
            return True
        return self.max_listed is not None and listed >= self.max_listed


class ShardRunner:
    """Runs shard tasks for one worker process (thread-safe: what it keeps between tasks, the
    entries each entry's relations wait for and those found all over, is kept under a lock).

    `tasks` is the queue continuations are sent to; without it a shard never hands on."""

    def __init__(
        self,
        config: ExporterConfig,
        store: RunStore,
        open_account: OpenAccount,
        catalog_for: CatalogFor,
        *,
        home_region: str,
        max_attempts: int = 3,
        tasks: TaskQueue | None = None,
        relation_wait_seconds: int = RELATION_WAIT_SECONDS,
        home_account_id: str | None = None,
    ) -> None:
        self.config = config
        self._store = store
        self._tasks = tasks
        self._relation_wait_seconds = relation_wait_seconds
        # Where the planner put the organisation-level kinds' shards (the management account).
        self._home_account_id = home_account_id
        self._targets_lock = threading.Lock()
        self._target_entries: dict[int, frozenset[int]] = {}
        self._targets_written: set[tuple[str, str, frozenset[int]]] = set()
        self._open_account = open_account
        self._catalog_for = catalog_for
        self._home_region = home_region
        self._max_attempts = max_attempts
        self._mappers = build_mappers(config)

    def run(
        self,
        task: ShardTask,
        receive_count: int = 1,
        *,
        lease_until: float | None = None,
        limits: PartLimits | None = None,
    ) -> ShardOutcome:
        """Run the shard; an unexpected error is raised (the message comes back) until its last
        attempt, which marks the shard failed.

        `lease_until` (epoch seconds) is when this attempt is surely over (its message visible
        again, its Lambda invocation ended): a deletion it claims is held until then. `limits`
        say when it hands the rest of its listing on (`ShardOutcome.CONTINUED`).
        """
        if self._sent_back_to_wait(task):
            return ShardOutcome.WAITING
        if not self._store.start_shard(task):
            # A worker that died between its finish and the continuation's message, or between its
            # finish and its claims, or during a deletion it claimed.
            self._resend_continuation(task)
            if self._claim_due(task, lease_until, duplicate=True):
                return ShardOutcome.DELETION_CLAIMED
            return ShardOutcome.DUPLICATE
        failure = self._mismatch(task)
        result: ShardResult | None = None
        continuation: ShardTask | None = None
        if failure is None:
            try:
                result, resume_token = self._sync(task, limits if self._tasks is not None else None)
                continuation = task.continued(resume_token) if resume_token is not None else None
            except AccountUnavailableError as error:
                failure = f"account {task.account_id} unavailable: {error.reason}"
            except Exception as error:
                if receive_count < self._max_attempts:
                    raise
                failure = f"attempt {receive_count} of {self._max_attempts} failed: {error}"
        if not self._store.finish_shard(task, result, failure, continuation):
            return ShardOutcome.DUPLICATE
        if continuation is not None:
            self._send(continuation)
            return ShardOutcome.CONTINUED
        self._claim_due(task, lease_until)
        return ShardOutcome.DONE if failure is None else ShardOutcome.FAILED

    def _sent_back_to_wait(self, task: ShardTask) -> bool:
        """Whether the shard went back to the queue, delayed, to let its relation targets be written
        first (a continuation's first part waited already)."""
        if self._tasks is None or task.part > 1:
            return False
        unfinished = []
        for account_id, entries in self._accounts_writing_targets(task).items():
            key = (task.run_id, account_id, entries)
            if key in self._targets_written:
                continue
            pending = self._store.unfinished_shards(task.run_id, account_id, entries)
            if not pending:
                # For good: a part hands on in the transaction that finishes it, so an entry whose
                # shards are all over never gets another.
                with self._targets_lock:
                    self._targets_written.add(key)
            unfinished += pending
        if not unfinished:
            return False
        if task.waited >= MAX_RELATION_WAITS:
            log.warning(
                "writing before the shards of earlier entries are over",
                extra={"shard_id": task.shard_id, "unfinished": unfinished[:5], "waits": task.waited},
            )
            return False
        later = dataclasses.replace(task, waited=task.waited + 1)
        self._tasks.send([later.body()], delay_seconds=self._relation_wait_seconds)
        log.info("shard waits for earlier entries", extra={"shard_id": task.shard_id, "unfinished": unfinished[:5]})
        return True

    def _accounts_writing_targets(self, task: ShardTask) -> dict[str, frozenset[int]]:
        """Per account, the entries whose shards write `task`'s relation targets: its own account's,
        and the home account's for an organisation-level kind (its one shard runs there)."""
        accounts: dict[str, set[int]] = {}
        for entry in self._entries_writing_targets(task):
            organization_level = spec_for(self.config.resources[entry].kind).organization_level
            account = self._home_account_id if organization_level and self._home_account_id else task.account_id
            accounts.setdefault(account, set()).add(entry)
        return {account: frozenset(entries) for account, entries in accounts.items()}

    def _entries_writing_targets(self, task: ShardTask) -> frozenset[int]:
        """The config's entries before `task.entry` that write a blueprint its relations point at
        (the targets read from the blueprints in Port; every entry before it when they cannot be)."""
        with self._targets_lock:
            known = self._target_entries.get(task.entry)
        if known is not None:
            return known
        resources = self.config.resources
        mappings = [mapping for mapping in resources[task.entry].port.entity.mappings if mapping.relations]
        targets: set[str] = set()
        earlier = frozenset(range(task.entry))
        entries: frozenset[int] = frozenset()
        if mappings:
            try:
                catalog = self._catalog_for(self._installation(task))
                for mapping in mappings:
                    relations = (catalog.get_blueprint(mapping.blueprint) or {}).get("relations") or {}
                    for name in mapping.relations or {}:
                        target = (relations.get(name) or {}).get("target")
                        if isinstance(target, str):
                            targets.add(target)
                entries = frozenset(
                    index
                    for index in earlier
                    if targets & {mapping.blueprint for mapping in resources[index].port.entity.mappings}
                )
            except Exception as error:  # waiting for every earlier entry is slower, never wrong
                log.warning("relation targets unknown", extra={"entry": task.entry, "error": str(error)})
                entries = earlier
        with self._targets_lock:
            self._target_entries[task.entry] = entries
        return entries

    def _send(self, continuation: ShardTask) -> None:
        assert self._tasks is not None
        self._tasks.send([continuation.body()])
        log.info("shard handed on", extra={"shard_id": continuation.shard_id, "part": continuation.part})

    def _resend_continuation(self, task: ShardTask) -> None:
        """Send the continuation the shard's finish recorded if nobody has started it: its message
        may never have left. Should it have, the second message is a duplicate, which is harmless."""
        if self._tasks is None:
            return
        continuation = self._store.unsent_continuation(task)
        if continuation is not None:
            self._send(continuation)

    def _mismatch(self, task: ShardTask) -> str | None:
        resources = self.config.resources
        if task.entry >= len(resources) or resources[task.entry].kind != task.kind:
            return f"this worker's config has no entry {task.entry} of kind {task.kind}: it differs from the planner's"
        return None

    def _installation(self, task: ShardTask) -> Installation:
        return Installation(task.account_id, self._home_region)

    def _sync(self, task: ShardTask, limits: PartLimits | None) -> tuple[ShardResult, str | None]:
        """The part's result, and the page token to continue from when it reached its limits."""
        installation = self._installation(task)
        listed = [0]

        def count_listed(report: KindRegionReport) -> None:
            listed[0] = report.listed

        options = SyncOptions(
            default_region=self._home_region,
            entries=[task.entry],
            regions_for=lambda index, resource: [task.region],
            warning_for=_region_warning,
            delete_stale=False,
            should_pause=lambda: limits is not None and limits.reached(listed[0]),
            on_progress=count_listed,
        )
        sync = FullSync(
            self.config,
            self._open_account(task),
            self._catalog_for(installation),
            installation.owned_entities_query,
            options,
        )
        outcome = sync.run(self._resume_point(task))
        report = outcome.report
        result = ShardResult(
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
        paused = outcome.checkpoint
        return result, paused.resume_tokens.get(task.region) if paused is not None else None

    @staticmethod
    def _resume_point(task: ShardTask) -> SyncCheckpoint | None:
        """Where a continuation's listing picks up: its page token, and nothing seen yet (what the
        parts before it saw is theirs, in the store)."""
        if task.resume_token is None:
            return None
        point = SyncCheckpoint.start(task.started_at)
        point.resource_index = task.entry
        point.pause_region(task.region, task.resume_token)
        return point

    # -- scope deletion ----------------------------------------------------------------------

    def _claim_due(self, task: ShardTask, lease_until: float | None, *, duplicate: bool = False) -> bool:
        """Run the deletions due in the task's scopes; for a duplicate delivery, True when one of
        them is claimed by another attempt that has not finished it (the message must come back)."""
        held = [
            self.delete_scope(task, Scope(task.account_id, bp), lease_until, tell_held=duplicate)
            for bp in task.blueprints
        ]
        return any(held)

    def delete_scope(
        self, task: ShardTask, scope: Scope, lease_until: float | None = None, *, tell_held: bool = False
    ) -> bool:
        """Run the scope's stale deletion if this caller claims it (its shards all finished, and
        nobody claimed it or the claim's lease expired). With `tell_held`, True when another
        attempt holds the claim and has not finished.

        A claim taken over after its lease may belong to a claimer that is alive after all (slow,
        not dead), so one scope's deletion can run twice, even at once. That is safe: both delete
        from the same, final set of identifiers (every shard is done, nothing adds to it), with
        the same rules; an entity the first deleted is simply gone for the second, which deletes
        fewer, and so stays under the threshold the first passed (s-k of n-k is no larger a share
        than s of n); an entity written since the run began (an event) is spared by both. Only
        the claim holder records the outcome; the other adds what it deleted to the count.
        """
        state = self._store.claim_deletion(task.run_id, scope, lease_until)
        if state is None:
            if not tell_held:
                return False
            now = self._store.scope_state(task.run_id, scope)
            return now.remaining == 0 and now.deletion == DeletionStatus.CLAIMED.value
        if state.blocked is not None:
            self._store.finish_deletion(task.run_id, state, DeletionStatus.SKIPPED, 0, state.blocked)
            return False
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
        if not self._store.finish_deletion(task.run_id, state, status, report.deleted, reason):
            log.warning(
                "scope deletion finished after its claim was taken over: its outcome is the new claimer's",
                extra={"scope": scope.key, "deleted": report.deleted},
            )
            return False
        log.info("scope deletion", extra={"scope": scope.key, "status": status.value, "deleted": report.deleted})
        return False
