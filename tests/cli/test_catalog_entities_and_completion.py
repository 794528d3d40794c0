"""`catalog entities apply` (the region entities the example blueprints relate to) and click's
shell completion, as the README documents them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from port_aws_exporter.cli import main

PROJECT = Path(__file__).resolve().parents[2]


def test_region_entities_apply_after_the_example_blueprints(tmp_path: Path) -> None:
    db = str(tmp_path / "catalog.db")
    blueprints = sorted(str(path) for path in (PROJECT / "examples" / "blueprints").glob("*.json"))
    assert CliRunner().invoke(main, ["catalog", "blueprints", "apply", "--db", db, *blueprints]).exit_code == 0
    regions = PROJECT / "examples" / "entities" / "awsRegion.json"
    applied = CliRunner().invoke(main, ["catalog", "entities", "apply", "--db", db, "awsRegion", str(regions)])
    assert applied.exit_code == 0, applied.output
    assert f"wrote {len(json.loads(regions.read_text()))} entities of awsRegion" in applied.output
    listed = CliRunner().invoke(main, ["catalog", "list", "--db", db, "--blueprint", "awsRegion", "--json"])
    assert "eu-west-1" in {entity["identifier"] for entity in json.loads(listed.stdout)}
    refused = CliRunner().invoke(main, ["catalog", "entities", "apply", "--db", db, "awsRegion", "-"], input="{}")
    assert refused.exit_code == 1 and "must hold a JSON list of entities" in refused.output


def test_bash_completion_offers_subcommands_and_options() -> None:
    def complete(words: str, index: int) -> str:
        env = {
            **os.environ,
            "COMP_WORDS": words,
            "COMP_CWORD": str(index),
            "_PORT_AWS_EXPORTER_COMPLETE": "bash_complete",
        }
        script = "from port_aws_exporter.cli import main; main(prog_name='port-aws-exporter')"
        result = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        return result.stdout

    assert "plain,sample-event" in complete("port-aws-exporter rules sa", 2)
    assert "plain,--dry-run" in complete("port-aws-exporter sync --dr", 2)
