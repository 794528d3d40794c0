"""JSON as AWS reads it: strict text (no NaN or Infinity) and UTC timestamps in ISO 8601."""

from __future__ import annotations

import json
from datetime import UTC, datetime


def loads_strict(text: str) -> object:
    """`json.loads` that refuses NaN and Infinity, which are not JSON; raises ValueError."""
    return json.loads(text, parse_constant=_reject_constant)


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def utc_timestamp(moment: datetime | None = None) -> str:
    """`2024-01-02T03:04:05Z` for `moment` (naive means UTC), or for now."""
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
