"""The extra pattern vectors (`eventbridge-pattern-vectors-extra.json`, from aws/event-ruler's tests).

Every `asserted` case (an outcome event-ruler's own tests assert) and every `computed` case (an
outcome of running event-ruler on its tests' inputs) must agree with `compile_pattern`. The few
`unsettled` cases, where event-ruler and EventBridge may differ and what EventBridge does is not
recorded, are reported as skips with both outcomes, never asserted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from port_aws_exporter.eventbridge.pattern import InvalidPatternError, compile_pattern


def _outcome(vector: dict[str, Any]) -> tuple[bool, bool | None]:
    """(invalid, matched) as the toolkit answers the vector."""
    try:
        compiled = compile_pattern(vector["pattern"])
    except InvalidPatternError:
        return True, None
    return False, compiled.match(vector["event"]).matched


def test_the_extra_vectors_are_all_there(shared_data: Path) -> None:
    vectors = json.loads((shared_data / "eventbridge-pattern-vectors-extra.json").read_text(encoding="utf-8"))
    assert len(vectors) == 569
    assert sum("unsettled" in vector for vector in vectors) == 8
    assert {vector["basis"].split(":")[0].split(" by ")[0] for vector in vectors} == {"computed", "asserted"}


def test_extra_pattern_vector(extra_pattern_vector: dict[str, Any]) -> None:
    vector = extra_pattern_vector
    invalid, matched = _outcome(vector)
    expected = "invalid" if vector["invalid"] else f"matched={vector['expected']}"
    ours = "invalid" if invalid else f"matched={matched}"
    if "unsettled" in vector:
        pytest.skip(f"unsettled, not asserted: event-ruler {expected}, toolkit {ours}: {vector['unsettled']}")
    assert ours == expected, f"{vector['source']}: {json.dumps(vector['pattern'])} on {json.dumps(vector['event'])}"
