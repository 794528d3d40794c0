"""README.md's ```bash blocks, run as written against the local stack.

Each block is one test case, named by its heading and its index under that heading. The first line
of a block says how it is treated:

- `# needs an account: REASON` / `# not run by the README test: REASON`: skipped (the reason is
  required, and checked).
- `# synopsis`: a command's options in `[...]` form; each `port-aws-exporter CMD ...` it names must
  answer `--help` with exit 0.
- `# runs in the background in the README test`: a server; it is started, must print its first
  stdout line (its URL), and is stopped.
- anything else: run with `bash -euo pipefail` in a temporary directory holding the checkout's
  examples/ and a config.json copied from examples/config.json, the venv's bin first on PATH, AWS
  pointed at a local endpoint seeded with the demo world and PORT_* at a local catalog.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from port_aws_exporter.local.aws import SeedSummary
from port_aws_exporter.local.catalog import RunningCatalog
from tests.cli_runner import cli_env

CHECKOUT = Path(__file__).resolve().parents[2]
README = CHECKOUT / "README.md"
VENV_BIN = Path(sys.executable).parent
SKIP_MARKERS = ("# needs an account", "# not run by the README test")
SYNOPSIS_MARKER = "# synopsis"
BACKGROUND_MARKER = "# runs in the background in the README test"
BLOCK_TIMEOUT_SECONDS = 180


@dataclass(frozen=True)
class ReadmeBlock:
    heading: str
    index: int
    line: int
    text: str

    @property
    def first_line(self) -> str:
        return self.text.splitlines()[0].strip() if self.text.strip() else ""

    @property
    def case_id(self) -> str:
        return f"{self.heading}#{self.index}"


def readme_blocks() -> list[ReadmeBlock]:
    """Every ```bash block of README.md with the heading it sits under (fences inside are not nested)."""
    blocks: list[ReadmeBlock] = []
    heading = "(top)"
    per_heading: dict[str, int] = {}
    lines = README.read_text().splitlines()
    number = 0
    while number < len(lines):
        line = lines[number]
        if line.startswith("```bash"):
            start = number + 1
            end = start
            while end < len(lines) and lines[end].strip() != "```":
                end += 1
            per_heading[heading] = per_heading.get(heading, 0) + 1
            blocks.append(ReadmeBlock(heading, per_heading[heading], start, "\n".join(lines[start:end]) + "\n"))
            number = end + 1
            continue
        if line.startswith("```"):  # another language's block: skip to its end, headings inside are not headings
            number += 1
            while number < len(lines) and not lines[number].startswith("```"):
                number += 1
        elif re.match(r"#{2,3} ", line):
            heading = line.lstrip("#").strip()
        number += 1
    return blocks


BLOCKS = readme_blocks()


def _skip_reason(block: ReadmeBlock) -> str | None:
    for marker in SKIP_MARKERS:
        if block.first_line.startswith(marker):
            return block.first_line[len(marker) :].lstrip(":").strip()
    return None


def test_readme_has_bash_blocks_and_every_skip_gives_a_reason() -> None:
    assert len(BLOCKS) > 10
    for block in BLOCKS:
        reason = _skip_reason(block)
        if reason is not None:
            assert len(reason) > 5, f"README line {block.line}: the skip marker gives no reason"


def _command_lines(text: str) -> list[str]:
    """The block's shell lines without comments, continuation lines joined."""
    joined = text.replace("\\\n", " ")
    return [
        line
        for line in (raw.split("  #")[0].strip() for raw in joined.splitlines())
        if line and not line.startswith("#")
    ]


def _run_dir(tmp_path: Path) -> Path:
    workdir = tmp_path / "checkout"
    workdir.mkdir()
    shutil.copytree(CHECKOUT / "examples", workdir / "examples")
    shutil.copy(CHECKOUT / "examples" / "config.json", workdir / "config.json")
    return workdir


@pytest.fixture
def readme_env(aws_env: dict[str, str], demo_world: SeedSummary, local_catalog: RunningCatalog) -> dict[str, str]:
    """A user's shell: the venv first on PATH, AWS at the seeded local endpoint, Port at the local catalog."""
    del demo_world  # seeded: the blocks read it through the endpoint
    return cli_env(
        aws_env,
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        PORT_API_URL=local_catalog.url,
        PORT_CLIENT_ID=local_catalog.client_id,
        PORT_CLIENT_SECRET=local_catalog.client_secret,
        COLUMNS="120",
    )


def _check_synopsis(block: ReadmeBlock, env: dict[str, str], workdir: Path) -> None:
    for line in _command_lines(block.text):
        if line.startswith(("export ", "-", "[")):  # a setting, or the options continued from the line above
            continue
        words = shlex.split(line.split("[")[0])
        assert words[0] == "port-aws-exporter", f"README line {block.line}: a synopsis names {words[0]}"
        command = [word for word in words[1:] if re.fullmatch(r"[a-z][a-z-]*", word)][:2]
        result = subprocess.run(
            ["port-aws-exporter", *command, "--help"], env=env, cwd=workdir, capture_output=True, text=True, check=False
        )
        if result.returncode != 0 and len(command) == 2:  # the second word is an argument, not a subcommand
            command = command[:1]
            result = subprocess.run(
                ["port-aws-exporter", *command, "--help"],
                env=env,
                cwd=workdir,
                capture_output=True,
                text=True,
                check=False,
            )
        assert result.returncode == 0, (
            f"README line {block.line}: `port-aws-exporter {' '.join(command)} --help`\n{result.stderr}"
        )


def _check_background(block: ReadmeBlock, env: dict[str, str], workdir: Path) -> None:
    """Start the server the block runs, read its first stdout line (its URL), stop it."""
    stderr_path = workdir / "background.stderr"
    with stderr_path.open("w") as stderr:  # a file, not a pipe: a server's log must never block it
        process = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", block.text],
            env=env,
            cwd=workdir,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        assert first_line.startswith("http://127.0.0.1:"), (
            f"README line {block.line}: first stdout line {first_line!r}\n{stderr_path.read_text()[-3000:]}"
        )
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@pytest.mark.parametrize("block", BLOCKS, ids=[block.case_id for block in BLOCKS])
def test_readme_block(block: ReadmeBlock, readme_env: dict[str, str], tmp_path: Path) -> None:
    reason = _skip_reason(block)
    if reason is not None:
        pytest.skip(reason)
    workdir = _run_dir(tmp_path)
    if block.first_line == SYNOPSIS_MARKER:
        _check_synopsis(block, readme_env, workdir)
        return
    if block.first_line == BACKGROUND_MARKER:
        _check_background(block, readme_env, workdir)
        return
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.text],
        env=readme_env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, (
        f"README line {block.line} ({block.case_id}) exited {result.returncode}\n"
        f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"
    )
