"""Shared pytest configuration.

Reusable fixtures (local AWS endpoint, local catalog, ...) live in `tests/fixtures/<name>.py` and are
registered here, so any test can ask for them by name.
"""

from pathlib import Path

import pytest

pytest_plugins: list[str] = [
    "tests.fixtures.browser",
    "tests.fixtures.event_queues",
    "tests.fixtures.jq_evaluator",
    "tests.fixtures.lambda_artifact",
    "tests.fixtures.local_aws",
    "tests.fixtures.local_catalog",
]


def _find_shared_data() -> Path:
    """The project's `../shared/reference/data`, also found from a git worktree placed deeper."""
    for parent in Path(__file__).resolve().parents[1:]:
        candidate = parent.parent / "shared" / "reference" / "data"
        if candidate.is_dir():
            return candidate
    return Path(__file__).resolve().parents[2] / "shared" / "reference" / "data"


SHARED_DATA = _find_shared_data()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/reference/data`: test data from elsewhere, read in place, never copied."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared reference data not found at {SHARED_DATA}")
    return SHARED_DATA
