"""`worker --sync-tasks` processes started and stopped by another command (`demo --sharded`).

Each worker is a child process of its own, as a user would start it, writing to the catalog whose
credentials it is given (in its environment: the secret never appears on a command line). Leaving
the block (the run is over, an error, Ctrl-C) stops every worker: SIGTERM, which lets it finish the
shard in hand, then SIGKILL for one that does not stop in time. `--idle-seconds` stops a worker
whose parent died before it could.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from port_aws_exporter.cli.sharded_sync import ShardedState
from port_aws_exporter.port import PortCredentials

# How long a worker is given to finish its shard and leave after SIGTERM.
STOP_GRACE_SECONDS = 20.0
# The last lines of a worker's stderr that an error about it quotes.
LOG_TAIL_LINES = 5


@dataclass
class ShardWorker:
    """One running worker process and the file its stderr goes to."""

    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines() if self.log_path.exists() else []
        return " | ".join(lines[-LOG_TAIL_LINES:]) or "(no output)"


@dataclass
class ShardWorkers:
    """The workers of one run."""

    workers: list[ShardWorker]

    def any_running(self) -> bool:
        return any(worker.process.poll() is None for worker in self.workers)

    def describe_exits(self) -> str:
        """Each worker's exit code (or `running`) and the end of its output, for an error message."""
        return "; ".join(
            f"worker {number} (pid {worker.process.pid}) "
            f"{'running' if worker.process.poll() is None else f'exit {worker.process.returncode}'}: "
            f"{worker.log_tail()}"
            for number, worker in enumerate(self.workers, 1)
        )


def worker_arguments(config_path: Path, state: ShardedState, idle_seconds: float) -> list[str]:
    queue_url, table, bucket = state.require()
    return [
        "worker",
        "--config",
        str(config_path),
        "--sync-tasks",
        queue_url,
        "--state-table",
        table,
        "--state-bucket",
        bucket,
        "--idle-seconds",
        str(idle_seconds),
    ]


def catalog_environment(credentials: PortCredentials) -> dict[str, str]:
    """This process's environment with the catalog's credentials in place of any PORT_* setting."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("PORT_")}
    environment.update(
        PORT_CLIENT_ID=credentials.client_id,
        PORT_CLIENT_SECRET=credentials.client_secret.get_secret_value(),
        PORT_API_URL=credentials.api_url,
    )
    return environment


@contextmanager
def running_workers(
    count: int, arguments: Sequence[str], environment: dict[str, str], log_dir: Path
) -> Iterator[ShardWorkers]:
    """`count` worker processes of `port-aws-exporter ARGUMENTS`, stopped when the block is left."""
    running = ShardWorkers([])
    with ExitStack() as logs:
        try:
            for number in range(1, count + 1):
                log_path = log_dir / f"worker-{number}.log"
                log: IO[bytes] = logs.enter_context(log_path.open("wb"))
                process = subprocess.Popen(
                    [sys.executable, "-m", "port_aws_exporter", *arguments],
                    env=environment,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
                running.workers.append(ShardWorker(process, log_path))
            yield running
        finally:
            _stop(running.workers)


def _stop(workers: list[ShardWorker]) -> None:
    for worker in workers:
        if worker.process.poll() is None:
            worker.process.terminate()
    for worker in workers:
        try:
            worker.process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()
