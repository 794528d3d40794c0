"""Parametrization of the rules tests by the shared vector files (read in place, never copied)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import SHARED_DATA

PATTERN_VECTORS = "eventbridge-pattern-vectors.json"
TRANSFORMER_VECTORS = "input-transformer-vectors.json"
EXTRA_PATTERN_VECTORS = "eventbridge-pattern-vectors-extra.json"


def _load(name: str) -> Any:
    path = SHARED_DATA / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "pattern_vector" in metafunc.fixturenames:
        data = _load(PATTERN_VECTORS)
        vectors = [vector for group in data["groups"] for vector in group["vectors"]] if data else []
        metafunc.parametrize("pattern_vector", vectors, ids=[vector["id"] for vector in vectors])
    if "extra_pattern_vector" in metafunc.fixturenames:
        extra = _load(EXTRA_PATTERN_VECTORS) or []
        metafunc.parametrize("extra_pattern_vector", extra, ids=[vector["id"] for vector in extra])
    if "transformer_vector" in metafunc.fixturenames:
        data = _load(TRANSFORMER_VECTORS)
        vectors = data["vectors"] if data else []
        metafunc.parametrize("transformer_vector", vectors, ids=[vector["id"] for vector in vectors])
