"""The README's model of millions of resources runs, and says what binds each sync."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

MODEL = Path(__file__).parents[2] / "benchmarks" / "scale_model.py"


def _model(*flags: str) -> list[dict[str, Any]]:
    answer = subprocess.run([sys.executable, str(MODEL), "--json", *flags], capture_output=True, text=True, check=True)
    outcomes: list[dict[str, Any]] = json.loads(answer.stdout)["outcomes"]
    return outcomes


def test_a_first_sync_is_bound_by_ports_budget_and_a_change_only_one_by_the_shards() -> None:
    outcomes = _model()
    assert [(o["resources"], o["variant"]) for o in outcomes] == [
        (1_000_000, "get"),
        (1_000_000, "list"),
        (10_000_000, "get"),
        (10_000_000, "list"),
    ]
    assert {o["first_bound_by"] for o in outcomes} == {"Port's budget"}
    assert {o["change_only_bound_by"] for o in outcomes} == {"shards at the mapping's concurrency"}


def test_more_shards_at_once_end_at_the_run_tables_partition() -> None:
    outcomes = _model("--concurrency", "1000")
    assert {o["change_only_bound_by"] for o in outcomes if o["resources"] == 10_000_000} == {
        "the run table's one partition"
    }


def test_the_planner_of_ten_million_needs_writers_in_parallel_to_fit_one_invocation() -> None:
    alone = {o["resources"]: o["plan_seconds"] for o in _model("--planner-threads", "1")}
    threaded = {o["resources"]: o["plan_seconds"] for o in _model()}
    assert alone[10_000_000] > 900 > threaded[10_000_000]
