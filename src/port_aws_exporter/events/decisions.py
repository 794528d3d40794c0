"""What to do about one resource of an event batch, once it has been read.

`ResourceWork` gathers the messages of a batch about one resource (same account, kind, region and
identifier; the last one decides the action) and what became of it. `decide` turns the read into a
plan (entities to write, entities to delete) or into an outcome: failed (retried through the queue),
skipped, or dropped after retries with the reason. `settle`, once the batch's deletes and writes are
done, carries each resource's fate to its messages. The outcome rules of the event path are these two.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from port_aws_exporter.core.delete_guard import overmatch_hint
from port_aws_exporter.core.fetching import FetchError, ResourceDocument
from port_aws_exporter.core.mapping import MappedEntity, ResourceMapper
from port_aws_exporter.events.accounts import AccountRoute
from port_aws_exporter.events.records import EntityRef, MessageResult, SqsRecord


@dataclass(frozen=True)
class RetryLimits:
    """Deliveries (SQS receive counts) after which a message is dropped instead of retried."""

    not_found_attempts: int
    overmatch_attempts: int


@dataclass(frozen=True)
class HeldBack:
    """A delete not done because the resource still exists: retried (`dropped` False) or given up."""

    reason: str
    dropped: bool = False


@dataclass(eq=False)
class PendingMessage:
    """A record of the batch, its result so far and its parsed body (None when unparsable)."""

    record: SqsRecord
    result: MessageResult
    body: Mapping[str, Any] | None = None


@dataclass(eq=False)
class ResourceWork:
    """One resource of the batch, the messages about it, and what became of it."""

    kind: str
    region: str
    identifier: str
    mappers: list[ResourceMapper]
    messages: list[PendingMessage] = field(default_factory=list)
    document: ResourceDocument | None = None
    read_error: Exception | None = None
    entities: list[MappedEntity] = field(default_factory=list)
    targets: list[EntityRef] = field(default_factory=list)
    written: list[EntityRef] = field(default_factory=list)
    # Not written: the upsert would have changed nothing the batch wrote lately.
    unchanged: list[EntityRef] = field(default_factory=list)
    deleted: list[EntityRef] = field(default_factory=list)
    # Delete targets left alone: the catalog has them, but another installation owns them.
    refused: list[EntityRef] = field(default_factory=list)
    error: str | None = None
    transient: bool = False
    mapping_error: str | None = None
    write_errors: list[tuple[str, bool]] = field(default_factory=list)
    skipped: str | None = None
    dropped: bool = False
    held_back: HeldBack | None = None
    # The account it is in: how it is read, and which installation writes and deletes it.
    route: AccountRoute | None = None

    @property
    def winner(self) -> PendingMessage:
        """The last message of the batch about the resource: its action is the one applied."""
        return self.messages[-1]

    @property
    def action(self) -> str:
        return self.winner.result.action or "upsert"

    @property
    def attempts(self) -> int:
        """Deliveries so far: the oldest message's count, so that a fresh message about the same
        resource cannot keep an older one retrying until it is dead-lettered."""
        return max(message.record.receive_count for message in self.messages)

    @property
    def pending(self) -> bool:
        """Neither failed nor settled: still to be written or deleted."""
        return self.error is None and self.skipped is None

    @property
    def where(self) -> str:
        return f"{self.kind} {self.identifier} in {self.region}"

    def fail(self, reason: str, *, transient: bool) -> None:
        self.error = reason
        self.transient = transient

    def skip(self, reason: str, *, dropped: bool = False) -> None:
        self.skipped = reason
        self.dropped = dropped

    def delete_targets(self) -> list[EntityRef]:
        """The entities a delete of this identifier removes: one per blueprint of the kind's mappings."""
        pairs = (pair for mapper in self.mappers for pair in mapper.delete_targets(self.identifier))
        return [EntityRef(blueprint, identifier) for blueprint, identifier in dict.fromkeys(pairs)]


def decide(work: ResourceWork, limits: RetryLimits) -> None:
    """Plan the resource's write or delete from its read, or settle it (failed, skipped, dropped)."""
    if work.action == "delete":
        _decide_delete(work, limits)
    else:
        _decide_upsert(work, limits)


def _read_failure(work: ResourceWork) -> tuple[str, bool] | None:
    """(reason, transient) when the read failed."""
    error = work.read_error
    if error is None:
        return None
    if isinstance(error, FetchError):
        return f"reading {work.where} failed: {error.message}", error.transient
    return f"reading {work.where} failed: {type(error).__name__}: {error}", True


def _decide_upsert(work: ResourceWork, limits: RetryLimits) -> None:
    failure = _read_failure(work)
    if failure is not None:
        work.fail(failure[0], transient=failure[1])
        return
    if work.document is None:
        _not_found(work, limits)
        return
    failures: list[str] = []
    filtered: list[str] = []
    for mapper in work.mappers:
        result = mapper.map_document(work.document)
        work.entities.extend(result.entities)
        failures.extend(str(failure) for failure in result.failures)
        if result.filtered:
            filtered.append(mapper.path)
    if failures:
        # The entities that did map are still written; the message fails for the others.
        work.mapping_error = f"mapping {work.where} failed: " + "; ".join(failures[:3])
    elif not work.entities:
        reason = f"selector.query of {', '.join(filtered)} filtered it out" if filtered else "no mapping made one"
        work.skip(f"no entity to write for {work.where}: {reason}")


def _not_found(work: ResourceWork, limits: RetryLimits) -> None:
    attempts, limit = work.attempts, limits.not_found_attempts
    if any(message.result.action == "delete" for message in work.messages):
        # An earlier message of the batch deletes it, and the resource is indeed gone.
        _plan_delete(work)
    elif attempts >= limit:
        work.skip(
            f"{work.where} was not found after {attempts} attempt(s) (deleted since, or the identifier is not its "
            "Cloud Control identifier)",
            dropped=True,
        )
    else:
        work.fail(
            f"{work.where} was not found (attempt {attempts} of {limit}): retrying later, as AWS may not show a "
            "new resource yet",
            transient=True,
        )


def _decide_delete(work: ResourceWork, limits: RetryLimits) -> None:
    failure = _read_failure(work)
    if failure is not None and failure[1]:
        work.fail(failure[0] + " (needed to check that the resource is gone before deleting)", transient=True)
        return
    # A permanent read error means the identifier cannot be read as a resource of the kind (an
    # entity identifier that is not the Cloud Control one): there is nothing to check.
    targets = work.delete_targets()
    existing = map_all(work.mappers, work.document) if work.document is not None else []
    if any(EntityRef(entity.blueprint, entity.identifier) in targets for entity in existing):
        # The resource is there and is this entity: write its current state instead, and hold the
        # delete back (AWS may lag behind a real delete) or give it up (the rule over-matches).
        work.entities = existing
        attempts, limit = work.attempts, limits.overmatch_attempts
        if attempts >= limit:
            hint = overmatch_hint(work.kind, work.winner.body or {})
            reason = f"not deleted: {work.where} still exists and maps to {refs_text(targets)} after {attempts} "
            work.held_back = HeldBack(reason + f"attempt(s): {hint}", dropped=True)
        else:
            reason = f"not deleted yet: {work.where} still exists and maps to {refs_text(targets)} (attempt "
            work.held_back = HeldBack(
                reason + f"{attempts} of {limit}): retrying later, as AWS may still show a deleted resource"
            )
        return
    _plan_delete(work)


def map_all(mappers: Iterable[ResourceMapper], document: ResourceDocument) -> list[MappedEntity]:
    """Every entity the kind's config entries make of a document (mapping failures left out)."""
    return [entity for mapper in mappers for entity in mapper.map_document(document).entities]


def _plan_delete(work: ResourceWork) -> None:
    work.targets = work.delete_targets()
    if not work.targets:
        work.skip(f"no entity to delete for {work.where}: every mapping of the kind uses itemsToParse")


def refs_text(refs: Iterable[EntityRef]) -> str:
    """`blueprint/identifier, …` for reasons and logs."""
    return ", ".join(f"{ref.blueprint}/{ref.identifier}" for ref in refs) or "no entity"


def settle(resource: ResourceWork) -> None:
    """Carry the resource's fate to its messages: the winner gets the changes, the others the fate."""
    if resource.error is None and resource.write_errors:
        reasons = [reason for reason, _ in resource.write_errors]
        resource.fail("; ".join(reasons[:3]), transient=all(transient for _, transient in resource.write_errors))
    if resource.error is None and resource.mapping_error is not None:
        resource.fail(resource.mapping_error, transient=False)
    held_back = resource.held_back
    if resource.error is None and held_back is not None:
        if held_back.dropped:
            resource.skip(held_back.reason, dropped=True)
        else:
            resource.fail(held_back.reason, transient=True)
    if resource.pending and resource.refused and not resource.deleted:
        resource.skip(
            f"not deleted: {refs_text(resource.refused)} belongs to another installation or integration (its "
            "$datasource is not this exporter's); the event path deletes only what this installation owns, as the "
            "full sync does",
            dropped=True,
        )
    elif resource.pending and resource.targets and not resource.deleted:
        resource.skip(f"nothing to delete: {refs_text(resource.targets)} not in the catalog")
    winner = resource.winner
    for message in resource.messages:
        result = message.result
        if resource.error is not None:
            prefix = "" if message is winner else f"with message {winner.record.message_id}: "
            result.fail(prefix + resource.error, transient=resource.transient)
        elif message is not winner:
            result.skipped = (
                f"superseded by message {winner.record.message_id}, later in the batch, about {resource.where}"
            )
    result = winner.result
    result.written = list(resource.written)
    result.unchanged = list(resource.unchanged)
    result.deleted = list(resource.deleted)
    if resource.error is None:
        result.skipped = resource.skipped
        result.dropped = resource.dropped
