"""Run `port-aws-exporter` as a user does: a child process, its own environment and directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from port_aws_exporter.cli import main


def run_cli(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`python -m port_aws_exporter ARGS` in `cwd`, its output captured; never raises for an exit code."""
    return subprocess.run(
        [sys.executable, "-m", "port_aws_exporter", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def cli_env(aws_env: dict[str, str], **extra: str) -> dict[str, str]:
    """This process's environment without any PORT_* setting (a developer's own Port credentials must
    not leak into a test), with the local AWS settings and `extra` on top."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PORT_")}
    return {**env, **aws_env, **extra}


EXAMPLE_CONFIG = Path(__file__).resolve().parents[1] / "examples" / "config.json"


def generate_raw_rules_template(directory: Path, layout: str, config: Path = EXAMPLE_CONFIG) -> Path:
    """`rules generate --raw LAYOUT` of `config`, written to `directory/raw-LAYOUT.yaml`."""
    path = directory / f"raw-{layout}.yaml"
    result = CliRunner().invoke(
        main,
        ["rules", "generate", "--config", str(config), "--raw", layout, "--output", str(path)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return path
