"""Where a full sync is, so that a run cut short (Lambda's 15 minutes) resumes where it stopped.

The checkpoint holds positions and identifiers only: which `resources[]` entry, which regions of it
are done, the listing's resume token per region in progress, the entities written so far (stale
deletion, which runs once at the very end, needs them), the entities kept because their resource
was listed but not found when read, which blueprints must not be pruned and why, and the counts so
far. Never credentials: it is written to S3 next to the config.
"""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from port_aws_exporter.sync.report import KindRegionReport

CHECKPOINT_VERSION = 1


@dataclass
class SyncCheckpoint:
    """The progress of one full sync, shared by its threads (every update takes the lock)."""

    started_at: datetime.datetime
    resource_index: int = 0
    regions_done: set[str] = field(default_factory=set)
    resume_tokens: dict[str, str] = field(default_factory=dict)
    written: dict[str, set[str]] = field(default_factory=dict)
    # Per blueprint: identifiers of entities whose resource was listed, then not found when read.
    unsettled: dict[str, set[str]] = field(default_factory=dict)
    deletion_blocked: dict[str, str] = field(default_factory=dict)
    previous_seconds: float = 0.0
    reports: list[dict[str, Any]] = field(default_factory=list)
    legs: int = 1
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def start(cls, now: datetime.datetime) -> SyncCheckpoint:
        return cls(started_at=now)

    # -- progress ----------------------------------------------------------------------------

    def next_resource(self, index: int) -> None:
        with self._lock:
            self.resource_index = index
            self.regions_done.clear()
            self.resume_tokens.clear()

    def region_done(self, region: str) -> None:
        with self._lock:
            self.regions_done.add(region)
            self.resume_tokens.pop(region, None)

    def pause_region(self, region: str, resume_token: str) -> None:
        with self._lock:
            self.resume_tokens[region] = resume_token

    def record_written(self, blueprint: str, identifiers: Iterable[str]) -> None:
        with self._lock:
            self.written.setdefault(blueprint, set()).update(identifiers)

    def keep_unsettled(self, blueprint: str, identifier: str) -> None:
        """Keep the entity of a resource listed but not found when read out of stale deletion."""
        with self._lock:
            self.unsettled.setdefault(blueprint, set()).add(identifier)

    def block_deletion(self, blueprint: str, reason: str) -> None:
        """Keep stale deletion away from `blueprint` (the first reason is kept)."""
        with self._lock:
            self.deletion_blocked.setdefault(blueprint, reason)

    def pause(self, reports: Iterable[KindRegionReport], leg_seconds: float) -> None:
        """Record the counts so far and this leg's wall time, as the run stops for now."""
        with self._lock:
            self.reports = [report.as_dict() for report in reports]
            self.previous_seconds += leg_seconds

    def kind_reports(self) -> list[KindRegionReport]:
        return [KindRegionReport(**report) for report in self.reports]

    # -- storage -----------------------------------------------------------------------------

    def to_json(self) -> str:
        with self._lock:
            return json.dumps(
                {
                    "version": CHECKPOINT_VERSION,
                    "started_at": self.started_at.isoformat(),
                    "resource_index": self.resource_index,
                    "regions_done": sorted(self.regions_done),
                    "resume_tokens": self.resume_tokens,
                    "written": {blueprint: sorted(ids) for blueprint, ids in self.written.items()},
                    "unsettled": {blueprint: sorted(ids) for blueprint, ids in self.unsettled.items()},
                    "deletion_blocked": self.deletion_blocked,
                    "previous_seconds": self.previous_seconds,
                    "reports": self.reports,
                    "legs": self.legs,
                }
            )

    @classmethod
    def from_json(cls, text: str) -> SyncCheckpoint:
        data = json.loads(text)
        if data.get("version") != CHECKPOINT_VERSION:
            raise ValueError(f"unsupported checkpoint version {data.get('version')!r}")
        return cls(
            started_at=datetime.datetime.fromisoformat(data["started_at"]),
            resource_index=data["resource_index"],
            regions_done=set(data["regions_done"]),
            resume_tokens=dict(data["resume_tokens"]),
            written={blueprint: set(ids) for blueprint, ids in data["written"].items()},
            # Absent from checkpoints saved before it was recorded.
            unsettled={blueprint: set(ids) for blueprint, ids in data.get("unsettled", {}).items()},
            deletion_blocked=dict(data["deletion_blocked"]),
            previous_seconds=float(data["previous_seconds"]),
            reports=list(data["reports"]),
            legs=int(data["legs"]) + 1,
        )
