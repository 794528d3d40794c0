"""A sharded full sync's units of work and the store of its state, as plain data and interfaces.

A run is split into shards, one per (account, `resources[]` entry, region); a scope is one
(account, blueprint), whose stale deletion runs once, after every shard feeding it is finished.
The shard message is small and self-describing (`ShardTask.body`); the run's state (the run, each
shard's status, each scope's remaining-shards counter) lives in a store with conditional writes,
and the identifiers each shard wrote or found unchanged in an object of its own
(`aws.run_store.DynamoRunStore`: DynamoDB and S3).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

TASK_VERSION = 1
# How long a scope's deletion claim holds when its claimer gives no lease of its own: Lambda's
# longest invocation, after which a claimer in Lambda is surely gone.
DEFAULT_CLAIM_LEASE_SECONDS = 900.0


class ShardStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class DeletionStatus(StrEnum):
    """A scope's stale deletion: waiting for its shards, claimed by one worker, then its outcome."""

    WAITING = "waiting"
    CLAIMED = "claimed"
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"


class RunStatus(StrEnum):
    PLANNING = "planning"
    RUNNING = "running"
    COMPLETE = "complete"


class ShardTaskError(ValueError):
    """A shard message that is not one (not JSON, a field missing or of the wrong type)."""


@dataclass(frozen=True)
class ShardTask:
    """One shard: list `kind` (the config's entry `entry`) in `region` of `account_id`, map, write."""

    run_id: str
    shard_id: str
    account_id: str
    account_source: str
    entry: int
    kind: str
    region: str
    blueprints: tuple[str, ...]
    # When the run began: entities updated since are never stale (an event wrote them).
    started_at: datetime.datetime
    # A continuation (part 2 on) lists from the page token where the part before it stopped.
    resume_token: str | None = None
    part: int = 1
    # How many times this shard has been sent back to wait for the relation targets of its entry.
    waited: int = 0

    def continued(self, resume_token: str) -> ShardTask:
        """The next part of this shard: the same run and scope, listing on from `resume_token`."""
        root = self.shard_id.rsplit("#", 1)[0] if self.part > 1 else self.shard_id
        return dataclasses.replace(
            self, shard_id=f"{root}#{self.part + 1}", resume_token=resume_token, part=self.part + 1
        )

    def body(self) -> str:
        continuation = {"part": self.part, "resume_token": self.resume_token} if self.part > 1 else {}
        if self.waited:
            continuation["waited"] = self.waited
        return json.dumps(
            {
                "version": TASK_VERSION,
                "run_id": self.run_id,
                "shard_id": self.shard_id,
                "account_id": self.account_id,
                "account_source": self.account_source,
                "entry": self.entry,
                "kind": self.kind,
                "region": self.region,
                "blueprints": list(self.blueprints),
                "started_at": self.started_at.isoformat(),
                **continuation,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_body(cls, body: str) -> ShardTask:
        try:
            data = json.loads(body)
        except ValueError as error:
            raise ShardTaskError(f"not JSON: {error}") from error
        if not isinstance(data, dict):
            raise ShardTaskError("not a JSON object")
        if data.get("version") != TASK_VERSION:
            raise ShardTaskError(f"version {data.get('version')!r} is not {TASK_VERSION}")
        texts = ("run_id", "shard_id", "account_id", "account_source", "kind", "region", "started_at")
        wrong = [name for name in texts if not isinstance(data.get(name), str)]
        if not isinstance(data.get("entry"), int) or isinstance(data.get("entry"), bool):
            wrong.append("entry")
        blueprints = data.get("blueprints")
        if not isinstance(blueprints, list) or not all(isinstance(item, str) for item in blueprints):
            wrong.append("blueprints")
        part = data.get("part", 1)
        if not isinstance(part, int) or isinstance(part, bool) or part < 1:
            wrong.append("part")
        resume_token = data.get("resume_token")
        if part != 1 and not isinstance(resume_token, str):
            wrong.append("resume_token")
        waited = data.get("waited", 0)
        if not isinstance(waited, int) or isinstance(waited, bool) or waited < 0:
            wrong.append("waited")
        if wrong:
            raise ShardTaskError(f"missing or not of the right type: {', '.join(wrong)}")
        try:
            started_at = datetime.datetime.fromisoformat(data["started_at"])
        except ValueError as error:
            raise ShardTaskError(f"started_at: {error}") from error
        return cls(
            run_id=data["run_id"],
            shard_id=data["shard_id"],
            account_id=data["account_id"],
            account_source=data["account_source"],
            entry=data["entry"],
            kind=data["kind"],
            region=data["region"],
            blueprints=tuple(str(item) for item in blueprints or ()),
            started_at=started_at,
            resume_token=resume_token if part != 1 else None,
            part=part,
            waited=waited,
        )


@dataclass(frozen=True)
class Scope:
    """An (account, blueprint): the unit of stale deletion."""

    account_id: str
    blueprint: str

    @property
    def key(self) -> str:
        return f"{self.account_id}/{self.blueprint}"


@dataclass
class ShardResult:
    """What a finished shard leaves: its counts, the identifiers it wrote or found unchanged, the
    entities kept because their resource was listed but not found when read, and the blueprints
    whose deletion it blocks (and why)."""

    counts: dict[str, int] = field(default_factory=dict)
    seen: dict[str, set[str]] = field(default_factory=dict)
    unsettled: dict[str, set[str]] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def seen_document(self) -> dict[str, Any]:
        return {
            "seen": {blueprint: sorted(ids) for blueprint, ids in self.seen.items()},
            "unsettled": {blueprint: sorted(ids) for blueprint, ids in self.unsettled.items()},
        }


@dataclass
class ScopeState:
    """A scope as the store holds it."""

    scope: Scope
    total: int
    remaining: int
    deletion: str
    blocked: str | None = None
    deleted: int = 0
    reason: str | None = None
    # The claim's own token, set in the state `RunStore.claim_deletion` gives its claimer: its
    # deletion's outcome is recorded with it (`RunStore.finish_deletion`).
    claim_token: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "account": self.scope.account_id,
            "blueprint": self.scope.blueprint,
            "shards": self.total,
            "remaining": self.remaining,
            "deletion": self.deletion,
            "blocked": self.blocked,
            "deleted": self.deleted,
            "reason": self.reason,
        }


@dataclass
class ShardState:
    """A shard as the store holds it."""

    task: ShardTask
    status: str
    attempts: int = 0
    error: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    seen_key: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "shard": self.task.shard_id,
            "account": self.task.account_id,
            "kind": self.task.kind,
            "region": self.task.region,
            "status": self.status,
            "attempts": self.attempts,
            "error": self.error,
            **self.counts,
        }


@dataclass
class RunState:
    """A run, its shards and its scopes, as `sync status` shows them."""

    run_id: str
    status: str
    started_at: str
    finished_at: str | None
    shards: list[ShardState]
    scopes: list[ScopeState]
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        by_status: dict[str, int] = {}
        for shard in self.shards:
            by_status[shard.status] = by_status.get(shard.status, 0) + 1
        return {
            "run_id": self.run_id,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "shard_counts": by_status,
            "deleted": sum(scope.deleted for scope in self.scopes),
            "shards": [shard.as_dict() for shard in self.shards],
            "scopes": [scope.as_dict() for scope in self.scopes],
            "notes": list(self.notes),
        }


class RunNotFoundError(LookupError):
    """No run of that id in the store."""


class RunStore(Protocol):
    """Where a sharded run's state lives; every transition is a conditional write, so that of
    several workers racing for it exactly one makes it (`aws.run_store.DynamoRunStore`)."""

    def create_run(
        self,
        run_id: str,
        started_at: datetime.datetime,
        tasks: Sequence[ShardTask],
        scopes: Mapping[Scope, int],
        blocked: Mapping[Scope, str],
        notes: Sequence[str],
    ) -> None:
        """Write the run (it must not exist yet), its shards (queued) and its scopes (their shard
        counts; a scope blocked from the start keeps its reason)."""
        ...

    def mark_running(self, run_id: str) -> None:
        """The run's messages are all sent."""
        ...

    def start_shard(self, task: ShardTask) -> bool:
        """Count an attempt of the shard; False when it is already finished (a duplicate delivery)."""
        ...

    def unfinished_shards(self, run_id: str, account_id: str, entries: Collection[int]) -> list[str]:
        """The ids of the run's shards in `account_id`, of one of the config's `entries`, that are
        neither done nor failed."""
        ...

    def finish_shard(
        self,
        task: ShardTask,
        result: ShardResult | None,
        failure: str | None,
        continuation: ShardTask | None = None,
    ) -> bool:
        """In one transaction: the shard becomes done (its result's identifiers saved) or failed
        (`failure`), and the counter of each of its scopes goes down by one (blocked when the shard
        failed or blocks it). With a `continuation` (the rest of a done shard's listing), that part
        is written queued and joins the shard's scopes instead, their counters unchanged: the
        scope waits for its last part. False when the shard was finished already (nothing changed)."""
        ...

    def unsent_continuation(self, task: ShardTask) -> ShardTask | None:
        """The continuation the finished `task` handed on, while no attempt has started it (its
        message may not have been sent: the finishing worker died first); None otherwise."""
        ...

    def claim_deletion(self, run_id: str, scope: Scope, lease_until: float | None = None) -> ScopeState | None:
        """The scope's state, with a claim token, when this caller is the one that runs its
        deletion: its counter is 0 and nobody claimed it, or the claim's lease has expired (its
        claimer died). The claim is held until `lease_until` (epoch seconds; default
        `DEFAULT_CLAIM_LEASE_SECONDS` from now). None otherwise."""
        ...

    def scope_state(self, run_id: str, scope: Scope) -> ScopeState:
        """The scope as the store holds it now; raises RunNotFoundError."""
        ...

    def seen_identifiers(self, run_id: str, scope: Scope) -> tuple[set[str], set[str]]:
        """The union of the scope's shards' identifiers (written or unchanged; unsettled)."""
        ...

    def finish_deletion(
        self, run_id: str, claimed: ScopeState, status: DeletionStatus, deleted: int, reason: str | None
    ) -> bool:
        """Record the deletion outcome of the scope `claimed` (as `claim_deletion` gave it); the
        last scope to finish completes the run. False when the claim was taken over after its
        lease expired: then only the count of entities deleted is added, the outcome is the
        new claimer's."""
        ...

    def run_state(self, run_id: str) -> RunState:
        """The run, its shards and scopes; raises RunNotFoundError."""
        ...


class TaskQueue(Protocol):
    """Where shard messages go (the sync-tasks SQS queue)."""

    def send(self, bodies: Sequence[str], delay_seconds: int = 0) -> None: ...
