"""`sam build` (aws-sam-cli from PyPI) on deploy/template.yaml: the built template names each
function's built directory, which holds the unpacked artifact, and the handlers import from it.

aws-sam-cli pins many dependencies, so it lives in a venv of its own, outside git and the project's
venv (`~/.cache/port-aws-exporter/sam-cli`), made once and reused. No AWS is needed: `sam build`
calls none. The artifact is built for this machine (ARCH, PYTHON_VERSION), so that it imports here.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest
from samtranslator.yaml_helper import yaml_parse

from port_aws_exporter.deploy.lambda_target import LambdaTarget

PROJECT = Path(__file__).resolve().parents[2]
SAM_REQUIREMENT = "aws-sam-cli>=1.170,<2"
SAM_VENV = Path.home() / ".cache" / "port-aws-exporter" / "sam-cli"
_UNREACHABLE = (
    "NewConnectionError",
    "Network is unreachable",
    "Temporary failure in name resolution",
    "ConnectTimeout",
)


def _sam_cli() -> Path:
    """The sam command of the cached venv, installed on first use (skips only when PyPI is unreachable)."""
    sam = SAM_VENV / "bin" / "sam"
    SAM_VENV.parent.mkdir(parents=True, exist_ok=True)
    with (SAM_VENV.parent / "sam-cli.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs at once install it once
        marker = SAM_VENV / "installed.txt"
        if sam.is_file() and marker.is_file() and marker.read_text() == SAM_REQUIREMENT:
            return sam
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(SAM_VENV)], check=True)
        result = subprocess.run(
            [str(SAM_VENV / "bin" / "pip"), "install", "-q", SAM_REQUIREMENT],
            check=False,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            if any(marker_text in result.stderr for marker_text in _UNREACHABLE):
                pytest.skip(f"PyPI is unreachable, cannot install {SAM_REQUIREMENT}: {result.stderr[-300:]}")
            pytest.fail(f"pip install {SAM_REQUIREMENT} failed:\n{result.stderr[-3000:]}")
        marker.write_text(SAM_REQUIREMENT)
    return sam


def test_sam_build_leaves_a_template_whose_functions_are_built_directories_holding_the_artifact(
    tmp_path: Path,
) -> None:
    sam = _sam_cli()
    host = LambdaTarget.host()
    environment = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "ARCH": host.architecture,
        "PYTHON_VERSION": host.python_version,
        "DIST": str(tmp_path / "dist"),
    }
    build_dir = tmp_path / ".aws-sam" / "build"
    # From the checkout's root, as a user types it: samconfig.toml names the template.
    result = subprocess.run(
        [str(sam), "build", "--build-dir", str(build_dir)],
        check=False,
        cwd=PROJECT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Build Succeeded" in result.stdout + result.stderr

    built = yaml_parse((build_dir / "template.yaml").read_text())
    for name, handler in (("SyncFunction", "sync_handler"), ("EventsFunction", "events_handler")):
        properties = built["Resources"][name]["Properties"]
        assert properties["CodeUri"] == name
        assert properties["Handler"] == f"port_aws_exporter.handler.{handler}"
        code = build_dir / properties["CodeUri"]
        assert (code / "port_aws_exporter" / "handler.py").is_file()
        assert (code / "boto3").is_dir() and (code / "aws_lambda_powertools").is_dir()
        assert not (code / "port_aws_exporter" / "local").exists()  # the local stack stays out
        # The handler imports from the built directory alone, as in Lambda's task root.
        imported = subprocess.run(
            [
                sys.executable,
                "-I",
                "-S",
                "-c",
                f"import sys; sys.path.insert(0, {str(code)!r}); import port_aws_exporter.handler as h; "
                f"print(callable(h.{handler}), h.__file__)",
            ],
            check=False,
            capture_output=True,
            text=True,
            env={"PATH": os.environ["PATH"], "AWS_DEFAULT_REGION": "us-east-1"},
            timeout=120,
        )
        assert imported.returncode == 0, imported.stderr
        assert imported.stdout.split() == ["True", str(code / "port_aws_exporter" / "handler.py")]
    # Built once: the second function reused the artifact `port-aws-exporter package` wrote.
    assert [path.name for path in (tmp_path / "dist").iterdir()] == [host.artifact_name]
