"""The page's own view of the catalog database: read-only SQLite connections.

The page never writes: its connections are opened with `mode=ro`, so even a bug in a page cannot
change the catalog, and serving the page over a database never creates or migrates one. A read
sees one consistent snapshot (`snapshot()`), while the API's writers go on in WAL mode.

`version()` tells whether anything was committed since the last look, by any connection of any
process (the API, a `sync --local-catalog`, the demo's worker): SQLite's `PRAGMA data_version`
of one long-lived connection changes exactly then. The page's auto-refresh polls it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT_SECONDS = 10.0


class ReadOnlyCatalog:
    """Read-only access to a catalog database file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).resolve()
        self._watch_lock = threading.Lock()
        self._watch: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(
            f"{self.path.as_uri()}?mode=ro",
            uri=True,
            timeout=BUSY_TIMEOUT_SECONDS,
            isolation_level=None,
            check_same_thread=False,
        )

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A connection of its own in one read transaction, closed afterwards."""
        connection = self._connect()
        try:
            connection.execute("BEGIN")
            yield connection
            connection.execute("COMMIT")
        finally:
            connection.close()

    def version(self) -> int:
        """A number that changes whenever a commit has reached the database since the last call."""
        with self._watch_lock:
            if self._watch is None:
                self._watch = self._connect()
            row = self._watch.execute("PRAGMA data_version").fetchone()
            return int(row[0])

    def close(self) -> None:
        """Close the connection `version()` keeps."""
        with self._watch_lock:
            if self._watch is not None:
                self._watch.close()
                self._watch = None
