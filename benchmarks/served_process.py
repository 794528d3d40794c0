"""A `port-aws-exporter` server (`local aws`, `catalog serve`) in a child process, for the benchmarks
that measure the exporter from outside it, and the CPU time such a process spent.

    with served(["local", "aws"]) as aws:
        httpx.get(f"{aws.url}/_local/stats")
        cpu_seconds(aws.pid)
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_STOP_SECONDS = 30


@dataclass(frozen=True)
class ServedProcess:
    """The server's base URL (the first line it printed) and its process id."""

    url: str
    pid: int


@contextmanager
def served(command: list[str], environment: Mapping[str, str] | None = None) -> Iterator[ServedProcess]:
    """`port-aws-exporter COMMAND` in a child process until the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-m", "port_aws_exporter", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=dict(environment) if environment is not None else None,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield ServedProcess(process.stdout.readline().strip(), process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            # The figures are printed already; a server still busy with the last requests' backlog
            # must not turn them into a traceback.
            print(f"{' '.join(command)} did not stop in {_STOP_SECONDS} s of SIGTERM: killed", file=sys.stderr)
            process.kill()
            process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux, from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
