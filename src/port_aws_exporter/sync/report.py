"""What a full sync did: per kind and region, deletions, errors, time.

The JSON form is a contract (`port-aws-exporter sync --json`):
`{"kinds": [{"index", "kind", "region", "listed", "written", "failed", "filtered"}], "deleted": N,
"deletion_skipped": {blueprint: reason}, "errors": [{"kind", "region", "identifier", "error"}],
"seconds": S}`; `listed` counts resources, `written` entities. Extra keys are additive: each kind's
and the run's `created`, `updated` and `unchanged` (entities new to, different from, or already as
in the catalog: a change-only sync writes the first two; with `--write-all`, `written` counts the
third too); `warnings`
(`[{"kind", "region", "reason"}]`, when there are any); each kind's `not_found` (listed, then not
found when read: counted as listed, its entity kept), the run's `not_found` list of those
resources, and `deletion_errors` (blueprint: the Port failure that made its stale deletion stop;
each counts in `error_count`); `missing_blueprints` (configured blueprints the catalog lacks, when
there are any: their kinds are skipped with one error per region, nothing of them deleted);
`interrupted: true` when the run was asked to stop (Ctrl-C) before the end: its counts are partial,
and stale deletion did not run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class KindRegionReport:
    """One `resources[]` entry in one region."""

    index: int
    kind: str
    region: str
    listed: int = 0
    written: int = 0
    failed: int = 0
    filtered: int = 0
    not_found: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    seconds: float = 0.0

    def count_change(self, change: str) -> None:
        """One entity `create`d, `update`d or `unchanged` (`core.entity_changes.EntityChange`)."""
        if change == "create":
            self.created += 1
        elif change == "update":
            self.updated += 1
        else:
            self.unchanged += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "kind": self.kind,
            "region": self.region,
            "listed": self.listed,
            "written": self.written,
            "failed": self.failed,
            "filtered": self.filtered,
            "not_found": self.not_found,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class SyncErrorRecord:
    """One thing that went wrong, with where it happened."""

    kind: str
    region: str
    identifier: str | None
    error: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "region": self.region, "identifier": self.identifier, "error": self.error}


@dataclass(frozen=True)
class SyncWarning:
    """Something not read for a reason that is no error (a denied, disabled or unoffered region, an
    account whose role cannot be assumed): reported, and it keeps deletion away from its scope."""

    kind: str
    region: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "region": self.region, "reason": self.reason}


@dataclass
class DryRunChanges:
    """What a dry run would have done to one blueprint."""

    create: int = 0
    update: int = 0
    unchanged: int = 0
    delete: list[str] = field(default_factory=list)

    def count(self, change: str) -> None:
        """One entity to `create`, to `update`, or `unchanged`."""
        if change == "create":
            self.create += 1
        elif change == "update":
            self.update += 1
        else:
            self.unchanged += 1

    def as_dict(self) -> dict[str, Any]:
        return {"create": self.create, "update": self.update, "unchanged": self.unchanged, "delete": self.delete}


# Errors kept in full; past this many only the count grows, so a run where everything fails
# does not hold every message in memory.
MAX_RECORDED_ERRORS = 1000


@dataclass
class SyncReport:
    """The whole run. Thread-safe updates go through `record_error` and `lock`."""

    kinds: list[KindRegionReport] = field(default_factory=list)
    deleted: int = 0
    deletion_skipped: dict[str, str] = field(default_factory=dict)
    deletion_errors: dict[str, str] = field(default_factory=dict)
    errors: list[SyncErrorRecord] = field(default_factory=list)
    error_count: int = 0
    warnings: list[SyncWarning] = field(default_factory=list)
    # Configured blueprints the catalog does not have: their kinds were skipped (one error each).
    missing_blueprints: list[str] = field(default_factory=list)
    not_found: list[SyncErrorRecord] = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False
    changes: dict[str, DryRunChanges] = field(default_factory=dict)
    resumed_from_checkpoint: bool = False
    checkpointed: bool = False
    # Stopped on request (`SyncOptions.should_stop`) before the end: partial, and nothing deleted.
    interrupted: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record_error(self, record: SyncErrorRecord) -> None:
        with self.lock:
            self.error_count += 1
            if len(self.errors) < MAX_RECORDED_ERRORS:
                self.errors.append(record)

    def record_warning(self, warning: SyncWarning) -> None:
        with self.lock:
            if len(self.warnings) < MAX_RECORDED_ERRORS:
                self.warnings.append(warning)

    def record_not_found(self, record: SyncErrorRecord) -> None:
        """A resource listed, then not found when read (kept up to `MAX_RECORDED_ERRORS`)."""
        with self.lock:
            if len(self.not_found) < MAX_RECORDED_ERRORS:
                self.not_found.append(record)

    @property
    def succeeded(self) -> bool:
        """Nothing failed (a stale deletion stopped by a Port failure counts in `error_count`)."""
        return not self.error_count

    @property
    def listed(self) -> int:
        return sum(kind.listed for kind in self.kinds)

    @property
    def written(self) -> int:
        return sum(kind.written for kind in self.kinds)

    @property
    def failed(self) -> int:
        return sum(kind.failed for kind in self.kinds)

    @property
    def created(self) -> int:
        return sum(kind.created for kind in self.kinds)

    @property
    def updated(self) -> int:
        return sum(kind.updated for kind in self.kinds)

    @property
    def unchanged(self) -> int:
        return sum(kind.unchanged for kind in self.kinds)

    def as_dict(self) -> dict[str, Any]:
        report: dict[str, Any] = {
            "kinds": [kind.as_dict() for kind in self.kinds],
            "deleted": self.deleted,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deletion_skipped": dict(self.deletion_skipped),
            "deletion_errors": dict(self.deletion_errors),
            "errors": [error.as_dict() for error in self.errors],
            "error_count": self.error_count,
            "not_found": [{"kind": r.kind, "region": r.region, "identifier": r.identifier} for r in self.not_found],
            "seconds": round(self.seconds, 3),
        }
        if self.warnings:
            report["warnings"] = [warning.as_dict() for warning in self.warnings]
        if self.missing_blueprints:
            report["missing_blueprints"] = list(self.missing_blueprints)
        if self.dry_run:
            report["dry_run"] = True
            report["changes"] = {blueprint: changes.as_dict() for blueprint, changes in self.changes.items()}
        if self.checkpointed:
            report["checkpointed"] = True
        if self.interrupted:
            report["interrupted"] = True
        return report
