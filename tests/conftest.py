"""Shared pytest configuration.

Reusable fixtures (local AWS endpoint, local catalog, ...) live in `tests/fixtures/<name>.py` and are
registered here, so any test can ask for them by name.
"""

from pathlib import Path

import pytest

pytest_plugins: list[str] = []

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "reference" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/reference/data`: test data from elsewhere, read in place, never copied."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared reference data not found at {SHARED_DATA}")
    return SHARED_DATA
