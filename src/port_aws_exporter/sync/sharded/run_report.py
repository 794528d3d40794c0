"""A sharded run's report in the unsharded sync's own form, built from its run state.

One account's run becomes a `sync.report.SyncReport`, a run of a config with `accounts` a
`sync.accounts.OrganizationReport` (the organisation's own kinds in its `organization` part, as the
unsharded sync reads them): each shard's counts are its (entry, region) row, each scope's deletion
its blueprint's deleted count, skip reason or failure. So `sync --sharded --wait` and
`demo --sharded` print (and `--json` gives) what the unsharded sync does.

What the run state does not keep, this report cannot show: a shard stores its first three errors
as one text, without their identifiers (the count is whole); not-found resources and warnings are
counted, without identifiers or reasons (a warning's scope deletion reason says why); account names
are not in the run (give them as `account_names`); the run's time is its wall time, planning to
last deletion.

Example::

    report = sharded_run_report(store.run_state(run_id), organization=config.accounts is not None)
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field

from port_aws_exporter.core.accounts import AccountSource
from port_aws_exporter.core.kinds.registry import spec_for
from port_aws_exporter.core.sharded_runs import DeletionStatus, RunState, ScopeState, ShardState, ShardStatus
from port_aws_exporter.sync.accounts import AccountReport, AccountStatus, OrganizationReport
from port_aws_exporter.sync.report import KindRegionReport, SyncErrorRecord, SyncReport, SyncWarning

# Shard counts that are a KindRegionReport field of the same name.
_KIND_COUNTS = ("listed", "written", "failed", "filtered", "not_found", "created", "updated", "unchanged")


@dataclass
class _Part:
    """One account's share of the run (or the organisation's own kinds, read in the home account)."""

    account_id: str
    source: str
    report: SyncReport = field(default_factory=SyncReport)


def sharded_run_report(
    state: RunState, *, organization: bool, account_names: Mapping[str, str] | None = None
) -> SyncReport | OrganizationReport:
    """The report of `state`'s run: a `SyncReport` for one account, else an `OrganizationReport`.

    A run not complete yet reports what its finished shards did, and its waiting scopes as
    skipped deletions (with their remaining shards)."""
    parts: dict[tuple[str, bool], _Part] = {}
    scope_part: dict[tuple[str, str], _Part] = {}
    scopes = {(scope.scope.account_id, scope.scope.blueprint): scope for scope in state.scopes}
    rows: dict[tuple[str, int, str], KindRegionReport] = {}
    for shard in state.shards:
        task = shard.task
        of_organization = organization and spec_for(task.kind).organization_level
        part = parts.setdefault((task.account_id, of_organization), _Part(task.account_id, task.account_source))
        for blueprint in task.blueprints:
            scope_part[(task.account_id, blueprint)] = part
        shard_scopes = [scopes[key] for key in ((task.account_id, bp) for bp in task.blueprints) if key in scopes]
        _add_shard(part.report, shard, shard_scopes, rows)
    for key, scope in scopes.items():
        if key in scope_part:
            _add_deletion(scope_part[key].report, scope)
    seconds = _wall_seconds(state)
    for part in parts.values():
        part.report.seconds = seconds
        part.report.kinds.sort(key=lambda kind: (kind.index, kind.region))
    if not organization:
        return next(iter(parts.values()), _Part("", AccountSource.HOME.value)).report
    names = account_names or {}

    def account(part: _Part) -> AccountReport:
        return AccountReport(
            part.account_id, names.get(part.account_id, ""), part.source, AccountStatus.SYNCED, report=part.report
        )

    home_first = sorted(
        ((key, part) for key, part in parts.items() if not key[1]),
        key=lambda item: (item[1].source != AccountSource.HOME.value, item[1].account_id),
    )
    organization_parts = [part for key, part in parts.items() if key[1]]
    return OrganizationReport(
        accounts=[account(part) for _, part in home_first],
        organization=account(organization_parts[0]) if organization_parts else None,
        seconds=seconds,
    )


def _add_shard(
    report: SyncReport, shard: ShardState, scopes: list[ScopeState], rows: dict[tuple[str, int, str], KindRegionReport]
) -> None:
    task, counts = shard.task, shard.counts
    # The parts of a shard handed on are one row, as the unsharded sync lists a kind and region once.
    key = (task.account_id, task.entry, task.region)
    row = rows.get(key)
    if row is None:
        row = rows[key] = KindRegionReport(task.entry, task.kind, task.region)
        report.kinds.append(row)
    row.seconds += counts.get("milliseconds", 0) / 1000
    for name in _KIND_COUNTS:
        setattr(row, name, getattr(row, name) + counts.get(name, 0))
    if shard.status == ShardStatus.FAILED:
        report.record_error(SyncErrorRecord(task.kind, task.region, None, shard.error or "the shard failed"))
        return
    stored = _stored_errors(shard)
    for error in stored:
        report.record_error(error)
    # The shard kept its first errors' text only; the rest count without it.
    report.error_count += max(counts.get("errors", 0) - len(stored), 0)
    if counts.get("warnings"):
        reason = next((scope.blocked for scope in scopes if scope.blocked), None)
        report.record_warning(SyncWarning(task.kind, task.region, reason or "not read (the run state keeps no reason)"))


def _stored_errors(shard: ShardState) -> list[SyncErrorRecord]:
    """The errors of a finished shard, as the shard stored them: each `KIND REGION: ERROR`, joined
    by `; ` (its own kind and region, so the prefix is what separates them)."""
    if not shard.error:
        return []
    task = shard.task
    prefix = f"{task.kind} {task.region}: "
    texts = shard.error.removeprefix(prefix).split(f"; {prefix}")
    return [SyncErrorRecord(task.kind, task.region, None, text) for text in texts]


def _add_deletion(report: SyncReport, scope: ScopeState) -> None:
    blueprint = scope.scope.blueprint
    report.deleted += scope.deleted
    if scope.deletion == DeletionStatus.SKIPPED:
        report.deletion_skipped[blueprint] = scope.reason or scope.blocked or "skipped"
    elif scope.deletion == DeletionStatus.FAILED:
        report.deletion_errors[blueprint] = scope.reason or "the stale deletion failed"
        report.error_count += 1
    elif scope.deletion in (DeletionStatus.WAITING, DeletionStatus.CLAIMED):
        report.deletion_skipped[blueprint] = (
            f"the run is not complete: {scope.remaining} of {scope.total} shards left, deletion {scope.deletion}"
        )


def _wall_seconds(state: RunState) -> float:
    if state.finished_at is None:
        return 0.0
    started = datetime.datetime.fromisoformat(state.started_at)
    return (datetime.datetime.fromisoformat(state.finished_at) - started).total_seconds()
