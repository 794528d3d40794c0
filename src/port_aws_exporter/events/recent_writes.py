"""What an `EventBatch` wrote lately, so that an upsert of an unchanged entity is not written twice.

A burst of events about one resource (a function updated, then tagged, then its concurrency set)
reads the resource each time, and most of those reads map to the entity the previous batch just
wrote. `RecentWrites` keeps, per account and blueprint, the digests of what was written
(`core.entity_changes.OwnedDigests.record_write`: the change-only sync's comparison) for
`seconds`; an entity whose upsert would change none of them is not sent again. Memory stays flat:
at most `limit` identifiers, a few digests each, the oldest forgotten first. A delete or a failed
write forgets the entity, and an entry older than `seconds` is forgotten, so a hand edit in the
catalog is rewritten by the next event after that (and by every full sync).

    recent = RecentWrites(shapes_of(mappings), seconds=300)
    if not recent.unchanged(account, entity):
        ...  # write it, then
        recent.wrote(account, entity)
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from port_aws_exporter.core.entity_changes import BlueprintShape, EntityChange, OwnedDigests
from port_aws_exporter.core.mapping import MappedEntity

DEFAULT_SECONDS = 300.0
DEFAULT_LIMIT = 50_000


class RecentWrites:
    """Digests of the entities written in the last `seconds`, per (account, blueprint) (thread-safe).

    `seconds` 0 remembers nothing: every upsert is written.
    """

    def __init__(
        self,
        shapes: Mapping[str, BlueprintShape],
        *,
        seconds: float = DEFAULT_SECONDS,
        limit: int = DEFAULT_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._shapes = dict(shapes)
        self.seconds = seconds
        self._limit = limit
        self._clock = clock
        self._lock = threading.Lock()
        self._digests: dict[tuple[str, str], OwnedDigests] = {}
        # (account, blueprint, identifier) -> when it was written, oldest first.
        self._written_at: OrderedDict[tuple[str, str, str], float] = OrderedDict()

    def unchanged(self, account: str, entity: MappedEntity) -> bool:
        """Whether upserting `entity` would change nothing this batch wrote in the last `seconds`."""
        if self.seconds <= 0:
            return False
        with self._lock:
            self._expire()
            digests = self._digests.get((account, entity.blueprint))
            return digests is not None and digests.classify(entity.entity) is EntityChange.UNCHANGED

    def wrote(self, account: str, entity: MappedEntity) -> None:
        """`entity` was upserted (with merge) just now."""
        shape = self._shapes.get(entity.blueprint)
        if self.seconds <= 0 or shape is None:
            return
        key = (account, entity.blueprint, entity.identifier)
        with self._lock:
            digests = self._digests.setdefault((account, entity.blueprint), OwnedDigests(shape))
            digests.record_write(entity.entity)
            self._written_at.pop(key, None)
            self._written_at[key] = self._clock()
            self._expire()

    def forget(self, account: str, blueprint: str, identifier: str) -> None:
        """What the catalog holds for the entity is no longer known (deleted, or a write failed)."""
        with self._lock:
            self._drop((account, blueprint, identifier))
            self._written_at.pop((account, blueprint, identifier), None)

    def _expire(self) -> None:
        oldest_kept = self._clock() - self.seconds
        while self._written_at:
            key, written_at = next(iter(self._written_at.items()))
            if written_at >= oldest_kept and len(self._written_at) <= self._limit:
                return
            self._written_at.popitem(last=False)
            self._drop(key)

    def _drop(self, key: tuple[str, str, str]) -> None:
        account, blueprint, identifier = key
        digests = self._digests.get((account, blueprint))
        if digests is not None:
            digests.forget(identifier)
            if not len(digests):
                del self._digests[(account, blueprint)]
