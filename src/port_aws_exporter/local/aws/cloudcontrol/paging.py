"""ListResources paging: opaque NextTokens over a snapshot of the listing.

The first page lists every identifier once and keeps that list (a snapshot) for the pages that
follow, so paging through 50,000 resources costs one full listing, not one per page. A resource
deleted meanwhile is skipped when its page is read; one created meanwhile shows up in the next
listing. When a snapshot has expired, paging resumes right after the last identifier served.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from port_aws_exporter.local.aws.cloudcontrol.errors import invalid_request

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 100
# Where the service's own list call pages smaller, Cloud Control's pages follow it.
DEFAULT_PAGE_SIZES = {"AWS::Lambda::Function": 50}
_MAX_SNAPSHOTS = 64
_SNAPSHOT_SECONDS = 600.0


@dataclass(frozen=True)
class Page:
    """One page of identifiers and the token for the next one (None on the last page)."""

    identifiers: list[str]
    next_token: str | None


def page_size(type_name: str, max_results: int | None) -> int:
    """The page size for a call: `MaxResults` when given (1..100), else the type's usual page size."""
    if max_results is None:
        return DEFAULT_PAGE_SIZES.get(type_name, DEFAULT_PAGE_SIZE)
    if not 1 <= max_results <= MAX_PAGE_SIZE:
        raise invalid_request(f"MaxResults must be between 1 and {MAX_PAGE_SIZE}, got {max_results}")
    return max_results


@dataclass(frozen=True)
class _Token:
    snapshot: str
    offset: int
    last: str

    def encode(self) -> str:
        data = {"s": self.snapshot, "o": self.offset, "k": self.last}
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()

    @classmethod
    def decode(cls, token: str) -> _Token:
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode()))
            return cls(str(data["s"]), int(data["o"]), str(data["k"]))
        except (binascii.Error, ValueError, KeyError, TypeError) as error:
            raise invalid_request("The NextToken is invalid or has expired") from error


@dataclass
class _Snapshot:
    key: Hashable
    identifiers: Sequence[str]
    created: float


class ListingPaginator:
    """Pages listings through snapshots kept for a while (bounded in number and age); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshots: OrderedDict[str, _Snapshot] = OrderedDict()

    def clear(self) -> None:
        """Forget every snapshot."""
        with self._lock:
            self._snapshots.clear()

    def page(
        self, key: Hashable, list_identifiers: Callable[[], Sequence[str]], next_token: str | None, size: int
    ) -> Page:
        """The page after `next_token` (the first page without one) of the listing `key` names.

        `key` identifies the listing (who, where, which type, which filter): a token is only valid
        for the listing it came from.
        """
        token = _Token.decode(next_token) if next_token else None
        snapshot = self._snapshot(token.snapshot) if token else None
        if snapshot is not None and snapshot.key != key:
            raise invalid_request("The NextToken belongs to a different ListResources request")
        if snapshot is None:
            snapshot_id = uuid.uuid4().hex
            snapshot = _Snapshot(key, list_identifiers(), time.monotonic())
            start = _resume_position(snapshot.identifiers, token) if token else 0
        else:
            snapshot_id = token.snapshot if token else ""
            start = token.offset if token else 0
        identifiers = snapshot.identifiers
        page = list(identifiers[start : start + size])
        end = start + len(page)
        if not page or end >= len(identifiers):
            return Page(page, None)
        self._keep(snapshot_id, snapshot)
        return Page(page, _Token(snapshot_id, end, page[-1]).encode())

    def _snapshot(self, snapshot_id: str) -> _Snapshot | None:
        with self._lock:
            snapshot = self._snapshots.get(snapshot_id)
            if snapshot is not None and time.monotonic() - snapshot.created > _SNAPSHOT_SECONDS:
                del self._snapshots[snapshot_id]
                return None
            return snapshot

    def _keep(self, snapshot_id: str, snapshot: _Snapshot) -> None:
        with self._lock:
            self._snapshots[snapshot_id] = snapshot
            self._snapshots.move_to_end(snapshot_id)
            while len(self._snapshots) > _MAX_SNAPSHOTS:
                self._snapshots.popitem(last=False)


def _resume_position(identifiers: Sequence[str], token: _Token) -> int:
    """Where to continue in a fresh listing: right after the last identifier served."""
    if 0 < token.offset <= len(identifiers) and identifiers[token.offset - 1] == token.last:
        return token.offset
    try:
        return list(identifiers).index(token.last) + 1
    except ValueError:
        return min(token.offset, len(identifiers))
