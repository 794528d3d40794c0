"""What `sync` shows while it runs, and what Ctrl-C does to it.

On a terminal, a live view on stderr (`SyncProgressView`): one row per running (kind, region),
the finished ones collapsed into one `✓ N done` row, as many rows as the terminal has lines, and
an overall line (listed, written, failed, resources per second, elapsed). The kind column is
never cut: where the terminal is too narrow for every column, the seconds go first, then the
region moves under the kind.

Off a terminal, or with `--log-json`, heartbeats instead (`sync.progress.Heartbeat`): a
`progress: …` line per running kind every few seconds or every thousand resources, or a
`sync progress` JSON log line.

Ctrl-C (`SyncInterruption`): the first says what the sync is finishing and that stale deletion
will not run, and asks the sync to stop (`SyncOptions.should_stop`); `sync` then prints the
partial summary and exits 130. A second Ctrl-C exits at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.markup import escape
from rich.measure import Measurement
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from port_aws_exporter.cli.output import INTERRUPTED_EXIT_CODE
from port_aws_exporter.sync.progress import (
    Heartbeat,
    ProgressRow,
    SyncProgress,
    heartbeat_line,
    log_heartbeat,
)

# Refreshes of the live view per second.
REFRESH_PER_SECOND = 4
# Lines the view keeps free below itself (the cursor's line).
SPARE_LINES = 1


class SyncInterruption:
    """The first SIGINT asks the sync to stop and says what it is finishing; the second exits at once.

    Example::

        interruption = SyncInterruption(progress, stderr_console)
        with interruption.installed():
            FullSync(..., SyncOptions(should_stop=interruption.requested)).run()
    """

    def __init__(self, progress: SyncProgress, console: Console) -> None:
        self._progress = progress
        self._console = console
        self._requested = threading.Event()

    def requested(self) -> bool:
        return self._requested.is_set()

    @contextlib.contextmanager
    def installed(self) -> Iterator[SyncInterruption]:
        """SIGINT handled by this object for the duration (main thread only); restored after."""
        previous = signal.signal(signal.SIGINT, self._on_signal)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._requested.is_set():
            # No summary, no flushing through rich: the user asked twice.
            os.write(2, b"\ninterrupted again: exiting now, without the summary\n")
            os._exit(INTERRUPTED_EXIT_CODE)
        self._requested.set()
        self._console.print(self.message(), soft_wrap=True, markup=False, highlight=False)

    def message(self) -> str:
        """What the sync finishes before it stops, and what it will not do."""
        running = self._progress.running()
        if running:
            shown = ", ".join(_where(row) for row in running[:3]) + (
                f" and {len(running) - 3} more" if len(running) > 3 else ""
            )
            finishing = f"finishing the reads in flight of {shown} and writing what was read"
        else:
            finishing = "finishing the writes in flight"
        return (
            f"interrupted: {finishing}, then printing the partial summary; stale deletion will not run. "
            "Press Ctrl-C again to exit at once."
        )


def _where(row: ProgressRow) -> str:
    return f"{row.account} {row.kind} {row.region}" if row.account else f"{row.kind} {row.region}"


class SyncProgressView:
    """The live view of a sync (see the module docstring), rendered afresh at each refresh for the
    console's size; `stopping` adds what Ctrl-C is waiting for to the overall line."""

    def __init__(self, progress: SyncProgress, interruption: SyncInterruption | None = None) -> None:
        self._progress = progress
        self._interruption = interruption
        # One spinner per row, so that each turns on its own clock.
        self._spinners: dict[int, Spinner] = {}

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        height = (options.height or console.size.height) - SPARE_LINES
        rows = self._progress.rows()
        running = [row for row in rows if row.finished is None]
        done = [row for row in rows if row.finished is not None]
        footer = Group(*([_done_line(done)] if done else []), self._overall_line(), *self._stopping_line())
        room = height - _lines(console, options, footer)
        # As many running rows as fit; when not all do, one line says how many more there are.
        count = len(running)
        while count > 0:
            table = self._fitting_table(console, options, running[:count], width)
            more = 1 if count < len(running) else 0
            used = _lines(console, options, table) + more
            if used <= room:
                break
            # Rows are one or two lines high: jump close to the answer, then step.
            count = min(count - 1, max(0, count - (used - room + 1) // 2))
        parts: list[RenderableType] = [table] if count else []
        if count < len(running):
            parts.append(Text(f"… and {len(running) - count} more running", style="dim"))
        yield Group(*parts, footer)

    def _fitting_table(self, console: Console, options: ConsoleOptions, rows: list[ProgressRow], width: int) -> Table:
        """The widest layout that fits: every column; no seconds; the region under the kind."""
        # Measured without the terminal's limit, which would clamp the measure to it.
        unbounded = options.update_width(10 * width)
        for stacked, seconds in ((False, True), (False, False), (True, False)):
            table = self._table(rows, stacked=stacked, seconds=seconds)
            if Measurement.get(console, unbounded, table).maximum <= width:
                return table
        return self._table(rows, stacked=True, seconds=False, fold=True)

    def _table(self, rows: list[ProgressRow], *, stacked: bool, seconds: bool, fold: bool = False) -> Table:
        if stacked:
            return self._stacked_table(rows, fold=fold)
        now = self._progress.clock()
        organisation = any(row.account for row in rows)
        table = Table(box=None, padding=(0, 1, 0, 0), pad_edge=False, show_edge=False, header_style="bold")
        table.add_column("", no_wrap=True, width=1)
        table.add_column("kind", no_wrap=True)
        table.add_column("account region" if organisation else "region", no_wrap=True)
        for header in ("listed", "written", "failed"):
            table.add_column(header, justify="right", no_wrap=True)
        if seconds:
            table.add_column("s", justify="right", no_wrap=True)
        for row in rows:
            report = row.report
            cells: list[RenderableType] = [self._spinner(row), escape(row.kind), _region(row)]
            cells += [f"{report.listed:,}", f"{report.written:,}", _failed(report.failed)]
            if seconds:
                cells.append(f"{row.seconds(now):.0f}")
            table.add_row(*cells)
        return table

    def _stacked_table(self, rows: list[ProgressRow], *, fold: bool) -> Table:
        """Two lines a row: the kind alone, then its region and counts. `fold` only when the kind
        alone is wider than the terminal: folded onto the next line, it is still whole."""
        table = Table(box=None, padding=(0, 1, 0, 0), pad_edge=False, show_edge=False, header_style="bold")
        table.add_column("", no_wrap=True, width=1)
        table.add_column("kind, region: listed, written, failed", no_wrap=not fold, overflow="fold")
        for row in rows:
            report = row.report
            counts = f"{report.listed:,} listed, {report.written:,} written, {_failed(report.failed)} failed"
            table.add_row(self._spinner(row), f"{escape(row.kind)}\n  {_region(row)}: {counts}")
        return table

    def _spinner(self, row: ProgressRow) -> Spinner:
        return self._spinners.setdefault(id(row), Spinner("dots", style="cyan"))

    def _overall_line(self) -> Text:
        totals = self._progress.totals()
        return Text.assemble(
            ("all: ", "bold"),
            f"{totals.listed:,} listed, {totals.written:,} written, ",
            (f"{totals.failed:,} failed", "red" if totals.failed else ""),
            f" · {totals.rate:,.0f}/s · {_elapsed(totals.seconds)} · {totals.running} running",
        )

    def _stopping_line(self) -> list[Text]:
        if self._interruption is None or not self._interruption.requested():
            return []
        return [Text("stopping (Ctrl-C): finishing what is in flight; stale deletion will not run", style="yellow")]


def _region(row: ProgressRow) -> str:
    return f"{row.account} {row.region}" if row.account else row.region


def _failed(count: int) -> str:
    return f"[red]{count:,}[/]" if count else "0"


def _lines(console: Console, options: ConsoleOptions, renderable: RenderableType) -> int:
    return len(console.render_lines(renderable, options.reset_height(), pad=False))


def _done_line(done: list[ProgressRow]) -> Text:
    listed = sum(row.report.listed for row in done)
    written = sum(row.report.written for row in done)
    failed = sum(row.report.failed for row in done)
    return Text.assemble(
        ("✓ ", "green"),
        f"{len(done)} done: {listed:,} listed, {written:,} written, ",
        (f"{failed:,} failed", "red" if failed else ""),
    )


def _elapsed(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"


@contextlib.contextmanager
def sync_progress_shown(
    progress: SyncProgress,
    console: Console,
    interruption: SyncInterruption,
    *,
    log_json: bool,
    heartbeat_seconds: float,
    heartbeat_resources: int,
) -> Iterator[None]:
    """While the sync runs: the live view on a terminal; else heartbeats, as JSON log lines with
    `log_json`, as `progress: …` lines otherwise."""
    if console.is_terminal and not log_json:
        view = SyncProgressView(progress, interruption)
        with Live(view, console=console, refresh_per_second=REFRESH_PER_SECOND, transient=True):
            yield
        return

    def print_heartbeat(row: ProgressRow, now: float) -> None:
        console.print(heartbeat_line(row, now), soft_wrap=True, markup=False, highlight=False)

    emit = log_heartbeat if log_json else print_heartbeat
    with Heartbeat(progress, emit, seconds=heartbeat_seconds, resources=heartbeat_resources):
        yield
