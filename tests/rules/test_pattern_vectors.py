"""Every vector of eventbridge-pattern-vectors.json, with AWS's outcome as the oracle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from port_aws_exporter.eventbridge.pattern import InvalidPatternError, compile_pattern

# AWS rejects this one with an undocumented complexity limit; the toolkit warns instead.
TOO_COMPLEX = "aws-content_wildcard_complex_EXC"


def test_all_vectors_are_present(shared_data: Path) -> None:
    data = json.loads((shared_data / "eventbridge-pattern-vectors.json").read_text(encoding="utf-8"))
    vectors = [vector for group in data["groups"] for vector in group["vectors"]]
    assert len(vectors) == data["meta"]["total"] == 274
    assert sum(1 for vector in vectors if vector.get("invalid")) == 38


def test_pattern_vector(pattern_vector: dict[str, Any]) -> None:
    source = pattern_vector["pattern_text"] if "pattern_text" in pattern_vector else pattern_vector["pattern"]
    if pattern_vector["id"] == TOO_COMPLEX:
        compiled = compile_pattern(source)
        assert [warning.code for warning in compiled.warnings] == ["wildcard-too-complex"]
        reason = pattern_vector["aws_error"].removeprefix("Event pattern is not valid. Reason: ")
        assert reason in compiled.warnings[0].message
        assert compiled.warnings[0].path == "EventBusArn"
        return
    if pattern_vector.get("invalid"):
        with pytest.raises(InvalidPatternError) as raised:
            compile_pattern(source)
        assert str(raised.value).splitlines()[0] == pattern_vector["aws_error"].splitlines()[0]
        return
    compiled = compile_pattern(source)
    assert compiled.warnings == ()
    result = compiled.match(pattern_vector["event"])
    assert result.matched is pattern_vector["expected"]
    assert (result.failed_field is None) is pattern_vector["expected"]
    # The same outcome when the pattern arrives as JSON text, as PutRule receives it.
    as_text = source if isinstance(source, str) else json.dumps(source)
    assert compile_pattern(as_text).match(pattern_vector["event"]).matched is pattern_vector["expected"]
