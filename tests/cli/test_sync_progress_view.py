"""What `sync` shows while it runs: the live view at 80x24, and heartbeats off a terminal.

The view is rendered into a rich Console of a fixed size, as a 24-row, 80-column terminal shows it.
"""

from __future__ import annotations

import io
import json
import logging
import time

from rich.console import Console

from port_aws_exporter.cli.sync_command import summary_table
from port_aws_exporter.cli.sync_progress import SyncInterruption, SyncProgressView
from port_aws_exporter.core.logs import configure_logging, invocation_fields
from port_aws_exporter.sync.progress import Heartbeat, SyncProgress, heartbeat_line, log_heartbeat
from port_aws_exporter.sync.report import KindRegionReport, SyncReport

LONGEST_KIND = "AWS::ElasticLoadBalancingV2::LoadBalancer"
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2", "eu-central-1", "ap-northeast-1")


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _render(view: SyncProgressView, width: int = 80, height: int = 24) -> list[str]:
    screen = io.StringIO()
    Console(file=screen, width=width, height=height, color_system=None, legacy_windows=False).print(view)
    return screen.getvalue().splitlines()


def _progress(running: int, done: int, kind: str = LONGEST_KIND) -> tuple[SyncProgress, _Clock]:
    clock = _Clock()
    progress = SyncProgress(clock=clock)
    for n in range(done + running):
        report = KindRegionReport(n, "AWS::Lambda::Function" if n < done else kind, REGIONS[n % len(REGIONS)])
        report.listed, report.written, report.failed = 1000 + n, 990 + n, n % 2
        progress.kind_started(report)
        if n < done:
            progress.kind_finished(report)
    clock.now += 30
    return progress, clock


def test_finished_rows_collapse_into_one_done_row_and_an_overall_line_follows() -> None:
    progress, _ = _progress(running=3, done=5)
    lines = _render(SyncProgressView(progress))

    done_rows = [line for line in lines if line.startswith("✓")]
    assert done_rows == ["✓ 5 done: 5,010 listed, 4,960 written, 2 failed"]
    assert sum("AWS::Lambda::Function" in line for line in lines) == 0  # finished kinds are not rows
    assert sum(LONGEST_KIND in line for line in lines) == 3
    # Totals over every row, the rate over the run (8,032 resources handled in 30 s), elapsed time.
    assert lines[-1] == "all: 8,028 listed, 7,948 written, 4 failed · 268/s · 30s · 3 running"


def test_on_a_24_row_terminal_the_rows_are_capped_and_the_rest_counted() -> None:
    progress, _ = _progress(running=40, done=12)
    lines = _render(SyncProgressView(progress))

    assert len(lines) <= 23  # the cursor's line stays free
    more = next(line for line in lines if line.startswith("… and "))
    shown = sum(LONGEST_KIND in line for line in lines)
    assert more == f"… and {40 - shown} more running"
    assert shown >= 15
    assert lines[-2].startswith("✓ 12 done") and lines[-1].startswith("all: ")


def test_at_80_columns_the_kind_column_is_never_cut() -> None:
    progress, _ = _progress(running=4, done=0)
    lines = _render(SyncProgressView(progress))
    rows = [line for line in lines if LONGEST_KIND in line]
    assert len(rows) == 4
    assert all(len(line) <= 80 for line in lines)
    # Every row keeps its region and counts on the same line, beside the whole kind name.
    assert any("ap-southeast-2" in row and "1,002" in row for row in rows)


def test_a_kind_too_long_for_the_columns_keeps_its_name_whole_with_the_region_under_it() -> None:
    long_kind = "AWS::ServiceCatalogAppRegistry::AttributeGroupAssociation"  # 57 characters
    progress, _ = _progress(running=2, done=0, kind=long_kind)
    lines = _render(SyncProgressView(progress))
    kind_lines = [line for line in lines if long_kind in line]
    assert len(kind_lines) == 2 and all(len(line) <= 80 for line in lines)
    below = lines[lines.index(kind_lines[0]) + 1]
    assert below.strip() == "us-east-1: 1,000 listed, 990 written, 0 failed"


def test_an_organisations_rows_name_their_account() -> None:
    clock = _Clock()
    progress = SyncProgress(clock=clock)
    progress.kind_started(KindRegionReport(0, "AWS::SQS::Queue", "us-east-1", listed=7), account="111122223333")
    lines = _render(SyncProgressView(progress))
    assert any("AWS::SQS::Queue" in line and "111122223333 us-east-1" in line for line in lines)


def test_once_interrupted_the_view_says_it_is_stopping() -> None:
    progress, _ = _progress(running=2, done=1)
    console = Console(file=io.StringIO(), width=200, color_system=None)
    interruption = SyncInterruption(progress, console)
    interruption._on_signal(2, None)  # what SIGINT calls; the real signal is sent in test_sync_interrupt
    said = console.file.getvalue()  # type: ignore[attr-defined]
    assert said.startswith(f"interrupted: finishing the reads in flight of {LONGEST_KIND} eu-west-1, ")
    assert "stale deletion will not run" in said and "Ctrl-C again" in said
    assert interruption.requested()
    assert _render(SyncProgressView(progress, interruption))[-1] == (
        "stopping (Ctrl-C): finishing what is in flight; stale deletion will not run"
    )


def test_off_a_terminal_a_heartbeat_line_per_running_kind_by_time_and_by_count() -> None:
    progress, clock = _progress(running=2, done=1)
    running = progress.running()
    # Started 30 s ago: both are due by time; the finished one never beats.
    assert progress.due_heartbeats(seconds=10, resources=1000) == running
    assert progress.due_heartbeats(seconds=10, resources=1000) == []
    running[0].report.listed += 1000  # a thousand more resources read
    assert progress.due_heartbeats(seconds=10, resources=1000) == [running[0]]
    clock.now += 10
    assert progress.due_heartbeats(seconds=10, resources=0) == running
    assert progress.due_heartbeats(seconds=0, resources=0) == []
    assert heartbeat_line(running[1], clock.now) == (
        f"progress: {LONGEST_KIND} ap-southeast-2: 1002 listed, 992 written, 0 failed, 40s (25/s)"
    )


def test_the_heartbeat_thread_logs_sync_progress_lines_with_the_request_id() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    progress = SyncProgress()
    report = KindRegionReport(0, "AWS::Lambda::Function", "us-east-1", listed=1500, written=1400)
    progress.kind_started(report)
    report.listed = 3000
    try:
        with (
            invocation_fields({"aws_request_id": "req-42"}),
            Heartbeat(progress, log_heartbeat, seconds=0, resources=1000, tick=0.01),
        ):
            deadline = time.monotonic() + 5
            while "sync progress" not in stream.getvalue() and time.monotonic() < deadline:
                time.sleep(0.01)
    finally:
        logging.getLogger("port_aws_exporter").handlers.clear()
    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["message"] == "sync progress" and line["aws_request_id"] == "req-42"
    assert (line["kind"], line["region"], line["listed"], line["written"], line["failed"]) == (
        "AWS::Lambda::Function",
        "us-east-1",
        3000,
        1400,
        0,
    )


def test_at_80_columns_the_summary_table_keeps_every_kind_whole() -> None:
    report = SyncReport(
        kinds=[
            KindRegionReport(0, "AWS::Lambda::Function", "eu-west-1", listed=10000, written=10000, seconds=33.2),
            KindRegionReport(1, LONGEST_KIND, "ap-southeast-2", listed=123, written=120, failed=3, seconds=1.5),
        ]
    )
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(summary_table(report, 80))
    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert all(len(line) <= 80 for line in lines)
    [row] = [line for line in lines if LONGEST_KIND in line]
    assert row.split()[-4:] == ["123", "120", "3", "1.5"]
    assert lines[lines.index(row) + 1].strip() == "ap-southeast-2"
    # Wide enough, one line per kind, with every column.
    wide = Console(file=io.StringIO(), width=160, color_system=None)
    wide.print(summary_table(report, 160))
    assert any(LONGEST_KIND in line and "ap-southeast-2" in line for line in wide.file.getvalue().splitlines())  # type: ignore[attr-defined]
