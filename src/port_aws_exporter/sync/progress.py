"""How far a full sync has got, while it runs: one row per (account, kind, region), and heartbeats.

The sync tells a `SyncProgress` when each (kind, region) starts and finishes
(`SyncOptions.progress`); a row reads its counts live from the kind's `KindRegionReport`, so a
display never lags the report. Two readers:

- a display on a terminal (`cli.sync_progress`) renders the rows and the totals a few times a second;
- off a terminal and in Lambda, a `Heartbeat` thread says how each running kind is doing every
  `seconds` or every `resources` resources handled, whichever comes first, so a long listing is
  never silent (`progress: AWS::Lambda::Function us-east-1: 4000 listed, 3900 written, 0 failed,
  6s (667/s)`, or a `sync progress` JSON log line).

Example::

    progress = SyncProgress()
    with Heartbeat(progress, log_heartbeat, seconds=10, resources=1000):
        FullSync(config, fetchers, catalog, query, SyncOptions(progress=progress)).run()
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

from port_aws_exporter.sync.report import KindRegionReport

log = logging.getLogger(__name__)

DEFAULT_HEARTBEAT_SECONDS = 10.0
DEFAULT_HEARTBEAT_RESOURCES = 1000
# How often the heartbeat thread looks at the rows: a beat is at most this late.
HEARTBEAT_TICK_SECONDS = 0.5

Clock = Callable[[], float]


@dataclass
class ProgressRow:
    """One (account, kind, region) of the run; `account` is empty in a single-account sync."""

    account: str
    report: KindRegionReport
    started: float
    finished: float | None = None
    # When, and at how many resources handled, its last heartbeat was.
    beat_at: float = 0.0
    beat_handled: int = 0

    @property
    def kind(self) -> str:
        return self.report.kind

    @property
    def region(self) -> str:
        return self.report.region

    @property
    def handled(self) -> int:
        """Resources read or failed: what a rate counts."""
        return self.report.listed + self.report.failed

    def seconds(self, now: float) -> float:
        return (self.finished if self.finished is not None else now) - self.started

    def rate(self, now: float) -> float:
        """Resources handled per second since the row started."""
        elapsed = self.seconds(now)
        return self.handled / elapsed if elapsed > 0 else 0.0


@dataclass(frozen=True)
class ProgressTotals:
    """The whole run so far."""

    listed: int
    written: int
    failed: int
    running: int
    done: int
    seconds: float

    @property
    def rate(self) -> float:
        """Resources handled (listed or failed) per second over the whole run."""
        return (self.listed + self.failed) / self.seconds if self.seconds > 0 else 0.0


@dataclass
class SyncProgress:
    """The rows of one run, safe to update from the sync's threads and to read from a display's."""

    clock: Clock = time.monotonic
    started: float = field(default=0.0)
    _rows: dict[tuple[str, int, str], ProgressRow] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def kind_started(self, report: KindRegionReport, account: str = "") -> None:
        """A (kind, region) begins listing (again, when a checkpointed run resumes it)."""
        now = self.clock()
        key = (account, report.index, report.region)
        with self._lock:
            row = self._rows.get(key)
            if row is None:
                self._rows[key] = ProgressRow(account, report, now, beat_at=now, beat_handled=report.listed)
            else:
                row.report, row.finished = report, None

    def kind_finished(self, report: KindRegionReport, account: str = "") -> None:
        """A (kind, region) is listed and read (or failed, or was stopped); its writes may still run."""
        with self._lock:
            row = self._rows.get((account, report.index, report.region))
            if row is not None:
                row.finished = self.clock()

    def rows(self) -> list[ProgressRow]:
        """Every row, in the order they started."""
        with self._lock:
            return list(self._rows.values())

    def running(self) -> list[ProgressRow]:
        return [row for row in self.rows() if row.finished is None]

    def totals(self) -> ProgressTotals:
        rows = self.rows()
        running = sum(1 for row in rows if row.finished is None)
        return ProgressTotals(
            listed=sum(row.report.listed for row in rows),
            written=sum(row.report.written for row in rows),
            failed=sum(row.report.failed for row in rows),
            running=running,
            done=len(rows) - running,
            seconds=self.clock() - self.started,
        )

    def due_heartbeats(self, seconds: float, resources: int) -> list[ProgressRow]:
        """The running rows whose next heartbeat is due: `seconds` since the last one, or
        `resources` more handled (0 turns either trigger off). Marks them as beaten."""
        now = self.clock()
        due = []
        with self._lock:
            for row in self._rows.values():
                if row.finished is not None:
                    continue
                by_time = seconds > 0 and now - row.beat_at >= seconds
                by_count = resources > 0 and row.handled - row.beat_handled >= resources
                if by_time or by_count:
                    row.beat_at, row.beat_handled = now, row.handled
                    due.append(row)
        return due


def heartbeat_line(row: ProgressRow, now: float) -> str:
    """`progress: KIND REGION: N listed, N written, N failed, Ns (R/s)`, the account first in an
    organisation's sync."""
    where = f"{row.account} {row.kind} {row.region}" if row.account else f"{row.kind} {row.region}"
    report = row.report
    return (
        f"progress: {where}: {report.listed} listed, {report.written} written, {report.failed} failed, "
        f"{row.seconds(now):.0f}s ({row.rate(now):.0f}/s)"
    )


def log_heartbeat(row: ProgressRow, now: float) -> None:
    """A heartbeat as a `sync progress` JSON log line (`--log-json`, Lambda)."""
    fields: dict[str, object] = {
        "kind": row.kind,
        "region": row.region,
        "listed": row.report.listed,
        "written": row.report.written,
        "failed": row.report.failed,
        "seconds": round(row.seconds(now), 1),
        "rate": round(row.rate(now), 1),
    }
    if row.account:
        fields["account"] = row.account
    log.info("sync progress", extra=fields)


Emit = Callable[[ProgressRow, float], None]


class Heartbeat:
    """A background thread that emits a heartbeat per running (kind, region) when one is due
    (`SyncProgress.due_heartbeats`). It runs in a copy of the caller's context, so a log line
    carries the Lambda request id (`core.logs.invocation_fields`) like the caller's own."""

    def __init__(
        self,
        progress: SyncProgress,
        emit: Emit,
        *,
        seconds: float = DEFAULT_HEARTBEAT_SECONDS,
        resources: int = DEFAULT_HEARTBEAT_RESOURCES,
        tick: float = HEARTBEAT_TICK_SECONDS,
    ) -> None:
        self._progress = progress
        self._emit = emit
        self._seconds = seconds
        self._resources = resources
        # Short heartbeat periods (tests, impatient operators) are looked at as often as they ask.
        self._tick = min(tick, seconds) if seconds > 0 else tick
        self._stopped = threading.Event()
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._beat,), name="sync-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        if self._seconds > 0 or self._resources > 0:
            self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()

    def _beat(self) -> None:
        while not self._stopped.wait(self._tick):
            for row in self._progress.due_heartbeats(self._seconds, self._resources):
                try:
                    self._emit(row, self._progress.clock())
                except Exception:  # a broken pipe must not end the sync; say it once and stop beating
                    log.exception("sync heartbeat failed")
                    return
