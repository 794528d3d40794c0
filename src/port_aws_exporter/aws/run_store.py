"""`core.sharded_runs.RunStore` on DynamoDB (run, shards, scopes) and S3 (each shard's identifiers).

One table, keyed by `pk` (the run id) and `sk`: `run`, `shard#<shard id>`, `scope#<account>/<blueprint>`.
Every transition is a conditional write: a shard finishes once (its status and its scopes' counters
in one transaction), a scope's deletion is claimed once (its counter at 0, nobody before, or a
claim whose lease has expired), a claim's outcome is recorded once (under its claim token, with the
run's counter of scopes still to delete in one transaction), and the run completes when that
counter reaches 0. A shard's identifiers go to
an S3 object of their own, named per attempt, so that two deliveries of a shard racing to finish
never mix their objects: the transaction records the winner's key.

Items carry `expires_at` (epoch seconds) for the table's TTL.
"""

from __future__ import annotations

import datetime
import functools
import json
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from port_aws_exporter.core.sharded_runs import (
    DEFAULT_CLAIM_LEASE_SECONDS,
    DeletionStatus,
    RunNotFoundError,
    RunState,
    RunStatus,
    Scope,
    ScopeState,
    ShardResult,
    ShardState,
    ShardStatus,
    ShardTask,
)

RUN_KEY = "run"
SHARD_PREFIX = "shard#"
SCOPE_PREFIX = "scope#"
# Items are kept two weeks (the table's TTL attribute).
RETENTION_SECONDS = 14 * 24 * 3600
_BATCH_WRITE_ITEMS = 25
_BATCH_GET_ITEMS = 100
# The planner's calls in flight. One after another, the calls for 340,000 shards take longer than
# the schedule's one invocation (README, "The model for millions of resources").
PLAN_WRITERS = 8
_UNFINISHED = {":queued": ShardStatus.QUEUED.value, ":running": ShardStatus.RUNNING.value}

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items() if value is not None}


def _values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _first_condition_failed(error: ClientError) -> bool:
    """A transaction cancelled because its first item's condition failed (the transition it makes
    was made already), not for any other reason."""
    if _error_code(error) != "TransactionCanceledException":
        return False
    reasons = error.response.get("CancellationReasons") or []
    return bool(reasons) and reasons[0].get("Code") == "ConditionalCheckFailed"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()


def in_parallel(calls: Sequence[Callable[[], None]], writers: int) -> None:
    """Run `calls` on `writers` threads; the first error cancels the calls not started and is raised."""
    if writers <= 1 or len(calls) <= 1:
        for call in calls:
            call()
        return
    with ThreadPoolExecutor(max_workers=min(writers, len(calls)), thread_name_prefix="plan-writer") as pool:
        futures = [pool.submit(call) for call in calls]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [future for future in done if future.exception() is not None]
        if failed:
            for future in futures:
                future.cancel()
            failed[0].result()


def create_run_table(dynamodb: Any, table: str) -> None:
    """Create the run table (on-demand) and wait for it; for the local stack and first setups."""
    dynamodb.create_table(
        TableName=table,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 30})


class DynamoRunStore:
    """A sharded run's state in a DynamoDB table and an S3 bucket (under `prefix`)."""

    def __init__(
        self,
        dynamodb: Any,
        s3: Any,
        table: str,
        bucket: str,
        prefix: str = "sharded-sync/",
        *,
        writers: int = PLAN_WRITERS,
    ) -> None:
        self._dynamodb = dynamodb
        self._s3 = s3
        self.table = table
        self.bucket = bucket
        self.prefix = prefix
        self.writers = writers

    # -- planning ----------------------------------------------------------------------------

    def create_run(
        self,
        run_id: str,
        started_at: datetime.datetime,
        tasks: Sequence[ShardTask],
        scopes: Mapping[Scope, int],
        blocked: Mapping[Scope, str],
        notes: Sequence[str],
    ) -> None:
        expires = int(time.time()) + RETENTION_SECONDS
        run = {
            "pk": run_id,
            "sk": RUN_KEY,
            "status": RunStatus.PLANNING.value,
            "started_at": started_at.isoformat(),
            "scopes_remaining": len(scopes),
            "notes": list(notes),
            "expires_at": expires,
        }
        try:
            self._dynamodb.put_item(
                TableName=self.table, Item=_item(run), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                raise ValueError(f"a run {run_id!r} exists already") from error
            raise
        shards_of: dict[Scope, list[str]] = {}
        for task in tasks:
            for blueprint in task.blueprints:
                shards_of.setdefault(Scope(task.account_id, blueprint), []).append(task.shard_id)
        items = [_queued_shard(task, expires) for task in tasks]
        items += [
            _item(
                {
                    "pk": run_id,
                    "sk": SCOPE_PREFIX + scope.key,
                    "account": scope.account_id,
                    "blueprint": scope.blueprint,
                    "total": total,
                    "remaining": total,
                    "shards": shards_of.get(scope, []),
                    "deletion": DeletionStatus.WAITING.value,
                    "blocked": blocked.get(scope),
                    "deleted": 0,
                    "expires_at": expires,
                }
            )
            for scope, total in scopes.items()
        ]
        self._batch_write(items)

    def _batch_write(self, items: list[dict[str, Any]]) -> None:
        batches = [items[start : start + _BATCH_WRITE_ITEMS] for start in range(0, len(items), _BATCH_WRITE_ITEMS)]
        in_parallel([functools.partial(self._write_batch, batch) for batch in batches], self.writers)

    def _write_batch(self, batch: list[dict[str, Any]]) -> None:
        requests: dict[str, Any] = {self.table: [{"PutRequest": {"Item": item}} for item in batch]}
        for attempt in range(8):
            answer = self._dynamodb.batch_write_item(RequestItems=requests)
            requests = answer.get("UnprocessedItems") or {}
            if not requests:
                return
            time.sleep(min(0.05 * 2**attempt, 2.0))
        raise RuntimeError(f"DynamoDB left {len(requests[self.table])} run items unwritten after retries")

    def mark_running(self, run_id: str) -> None:
        self._dynamodb.update_item(
            TableName=self.table,
            Key=_item({"pk": run_id, "sk": RUN_KEY}),
            UpdateExpression="SET #s = :running",
            ConditionExpression="#s = :planning",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=_values(
                {":running": RunStatus.RUNNING.value, ":planning": RunStatus.PLANNING.value}
            ),
        )

    # -- shards ------------------------------------------------------------------------------

    def _shard_key(self, task: ShardTask) -> dict[str, Any]:
        return _item({"pk": task.run_id, "sk": SHARD_PREFIX + task.shard_id})

    def start_shard(self, task: ShardTask) -> bool:
        try:
            self._dynamodb.update_item(
                TableName=self.table,
                Key=self._shard_key(task),
                UpdateExpression="SET #s = :running ADD attempts :one",
                ConditionExpression="#s IN (:queued, :running)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=_values({**_UNFINISHED, ":one": 1}),
            )
        except ClientError as error:
            if _error_code(error) != "ConditionalCheckFailedException":
                raise
            self._require_shard(task)
            return False
        return True

    def unfinished_shards(self, run_id: str, account_id: str, entries: Collection[int]) -> list[str]:
        unfinished = []
        for item in map(_plain, self._query(run_id, f"{SHARD_PREFIX}{account_id}/", ("sk", "status"))):
            shard_id = str(item["sk"]).removeprefix(SHARD_PREFIX)
            # `<account>/<entry>/<region>`, and `#<part>` for a continuation.
            entry = int(shard_id.split("/")[1])
            if entry in entries and item["status"] in _UNFINISHED.values():
                unfinished.append(shard_id)
        return unfinished

    def _require_shard(self, task: ShardTask) -> None:
        answer = self._dynamodb.get_item(TableName=self.table, Key=self._shard_key(task), ConsistentRead=True)
        if "Item" not in answer:
            raise RunNotFoundError(f"run {task.run_id!r} has no shard {task.shard_id!r} in table {self.table}")

    def finish_shard(
        self,
        task: ShardTask,
        result: ShardResult | None,
        failure: str | None,
        continuation: ShardTask | None = None,
    ) -> bool:
        seen_key = None
        if result is not None and failure is None:
            seen_key = f"{self.prefix}runs/{task.run_id}/shards/{task.shard_id}/{uuid.uuid4().hex}.json"
            body = json.dumps(result.seen_document(), separators=(",", ":")).encode()
            self._s3.put_object(Bucket=self.bucket, Key=seen_key, Body=body, ContentType="application/json")
        status = ShardStatus.DONE if failure is None else ShardStatus.FAILED
        shard_values: dict[str, Any] = {
            **_UNFINISHED,
            ":status": status.value,
            ":counts": dict(result.counts) if result is not None else {},
            ":error": failure or ("; ".join(result.errors[:3]) if result is not None and result.errors else None),
            ":key": seen_key,
            ":finished": _now(),
            ":next": continuation.shard_id if continuation is not None else None,
        }
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table,
                    "Key": self._shard_key(task),
                    "UpdateExpression": "SET #s = :status, counts = :counts, #e = :error, seen_key = :key, "
                    "finished_at = :finished, continued_by = :next",
                    "ConditionExpression": "#s IN (:queued, :running)",
                    "ExpressionAttributeNames": {"#s": "status", "#e": "error"},
                    "ExpressionAttributeValues": _values(shard_values),
                }
            }
        ]
        if continuation is not None:
            expires = int(time.time()) + RETENTION_SECONDS
            items.append(
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": _queued_shard(continuation, expires),
                        "ConditionExpression": "attribute_not_exists(sk)",
                    }
                }
            )
        items += [self._scope_update(task, blueprint, result, failure, continuation) for blueprint in task.blueprints]
        try:
            self._dynamodb.transact_write_items(TransactItems=items)
        except ClientError as error:
            if not _first_condition_failed(error):
                raise
            self._forget(seen_key)
            return False
        return True

    def _scope_update(
        self,
        task: ShardTask,
        blueprint: str,
        result: ShardResult | None,
        failure: str | None,
        continuation: ShardTask | None,
    ) -> dict[str, Any]:
        """A finishing shard's change to one of its scopes: one shard fewer to wait for, or, when
        it hands on, one part more (the counter unchanged: the continuation counts in its stead)."""
        reason = (
            f"shard {task.shard_id} failed: {failure}"
            if failure is not None
            else (result.blocked.get(blueprint) if result is not None else None)
        )
        values: dict[str, Any] = {":zero": 0}
        sets: list[str] = []
        if continuation is None:
            expression = "ADD remaining :minus"
            values[":minus"] = -1
        else:
            expression = "ADD #total :one"
            values[":one"] = 1
            sets.append("shards = list_append(shards, :next)")
            values[":next"] = [continuation.shard_id]
        if reason is not None:
            sets.append("blocked = if_not_exists(blocked, :reason)")
            values[":reason"] = reason
        if sets:
            expression += " SET " + ", ".join(sets)
        update: dict[str, Any] = {
            "TableName": self.table,
            "Key": _item({"pk": task.run_id, "sk": SCOPE_PREFIX + Scope(task.account_id, blueprint).key}),
            "UpdateExpression": expression,
            "ConditionExpression": "remaining > :zero",
            "ExpressionAttributeValues": _values(values),
        }
        if continuation is not None:
            update["ExpressionAttributeNames"] = {"#total": "total"}
        return {"Update": update}

    def unsent_continuation(self, task: ShardTask) -> ShardTask | None:
        shard = self._dynamodb.get_item(TableName=self.table, Key=self._shard_key(task), ConsistentRead=True)
        following = _plain(shard.get("Item") or {}).get("continued_by")
        if not following:
            return None
        answer = self._dynamodb.get_item(
            TableName=self.table,
            Key=_item({"pk": task.run_id, "sk": SHARD_PREFIX + str(following)}),
            ConsistentRead=True,
        )
        item = _plain(answer.get("Item") or {})
        if item.get("status") != ShardStatus.QUEUED.value or int(item.get("attempts") or 0) > 0:
            return None
        return ShardTask.from_body(str(item["task"]))

    def _forget(self, key: str | None) -> None:
        """The object of an attempt that lost the race to finish: nobody reads it."""
        if key is not None:
            self._s3.delete_object(Bucket=self.bucket, Key=key)

    # -- scopes ------------------------------------------------------------------------------

    def _scope_key(self, run_id: str, scope: Scope) -> dict[str, Any]:
        return _item({"pk": run_id, "sk": SCOPE_PREFIX + scope.key})

    def claim_deletion(self, run_id: str, scope: Scope, lease_until: float | None = None) -> ScopeState | None:
        now = time.time()
        lease = lease_until if lease_until is not None else now + DEFAULT_CLAIM_LEASE_SECONDS
        token = uuid.uuid4().hex
        try:
            answer = self._dynamodb.update_item(
                TableName=self.table,
                Key=self._scope_key(run_id, scope),
                UpdateExpression="SET deletion = :claimed, claimed_at = :at, lease_until = :lease, "
                "claim_token = :token",
                # A claim whose lease has passed belongs to a claimer that died (or outlived its
                # message, which another attempt now holds): it may be taken over. A claim made
                # before claims had leases has none, and is taken over too.
                ConditionExpression="remaining = :zero AND (deletion = :waiting OR (deletion = :claimed AND "
                "(lease_until < :now OR attribute_not_exists(lease_until))))",
                ExpressionAttributeValues=_values(
                    {
                        ":claimed": DeletionStatus.CLAIMED.value,
                        ":waiting": DeletionStatus.WAITING.value,
                        ":zero": 0,
                        ":at": _now(),
                        ":now": Decimal(str(now)),
                        ":lease": Decimal(str(lease)),
                        ":token": token,
                    }
                ),
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return _scope_state(_plain(answer["Attributes"]))

    def scope_state(self, run_id: str, scope: Scope) -> ScopeState:
        answer = self._dynamodb.get_item(TableName=self.table, Key=self._scope_key(run_id, scope), ConsistentRead=True)
        if "Item" not in answer:
            raise RunNotFoundError(f"run {run_id!r} has no scope {scope.key!r} in table {self.table}")
        return _scope_state(_plain(answer["Item"]))

    def seen_identifiers(self, run_id: str, scope: Scope) -> tuple[set[str], set[str]]:
        answer = self._dynamodb.get_item(TableName=self.table, Key=self._scope_key(run_id, scope), ConsistentRead=True)
        shard_ids = _plain(answer.get("Item") or {}).get("shards") or []
        seen: set[str] = set()
        unsettled: set[str] = set()
        for shard in self._shards(run_id, [str(shard_id) for shard_id in shard_ids]):
            key = shard.get("seen_key")
            if not key:
                continue
            document = json.loads(self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
            seen.update(document.get("seen", {}).get(scope.blueprint, []))
            unsettled.update(document.get("unsettled", {}).get(scope.blueprint, []))
        return seen, unsettled

    def _shards(self, run_id: str, shard_ids: list[str]) -> Iterator[dict[str, Any]]:
        for start in range(0, len(shard_ids), _BATCH_GET_ITEMS):
            keys = [
                _item({"pk": run_id, "sk": SHARD_PREFIX + sid}) for sid in shard_ids[start : start + _BATCH_GET_ITEMS]
            ]
            request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
            for attempt in range(8):
                answer = self._dynamodb.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table, []):
                    yield _plain(item)
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(min(0.05 * 2**attempt, 2.0))
            if request:
                raise RuntimeError("DynamoDB left shard items unread after retries")

    def finish_deletion(
        self, run_id: str, claimed: ScopeState, status: DeletionStatus, deleted: int, reason: str | None
    ) -> bool:
        scope_key = self._scope_key(run_id, claimed.scope)
        run_key = _item({"pk": run_id, "sk": RUN_KEY})
        # The scope's outcome and the run's count of scopes left in one transaction, so that a
        # claimer dying in between cannot leave the run one scope short of complete for ever.
        items = [
            {
                "Update": {
                    "TableName": self.table,
                    "Key": scope_key,
                    "UpdateExpression": "SET deletion = :status, reason = :reason ADD deleted :deleted",
                    "ConditionExpression": "deletion = :claimed AND claim_token = :token",
                    "ExpressionAttributeValues": _values(
                        {
                            ":status": status.value,
                            ":deleted": deleted,
                            ":reason": reason,
                            ":claimed": DeletionStatus.CLAIMED.value,
                            ":token": claimed.claim_token,
                        }
                    ),
                }
            },
            {
                "Update": {
                    "TableName": self.table,
                    "Key": run_key,
                    "UpdateExpression": "ADD scopes_remaining :minus",
                    "ExpressionAttributeValues": _values({":minus": -1}),
                }
            },
        ]
        try:
            self._dynamodb.transact_write_items(TransactItems=items)
        except ClientError as error:
            if not _first_condition_failed(error):
                raise
            # Taken over after the lease expired: the new claimer records the outcome; what this
            # one deleted is added to the scope's count all the same.
            self._dynamodb.update_item(
                TableName=self.table,
                Key=scope_key,
                UpdateExpression="ADD deleted :deleted",
                ExpressionAttributeValues=_values({":deleted": deleted}),
            )
            return False
        self._complete_if_done(run_id)
        return True

    def _complete_if_done(self, run_id: str) -> None:
        """Mark the run complete once no scope is left. Only a record: `run_state` counts a run with
        no scope left as complete even if the worker died before this write."""
        try:
            self._dynamodb.update_item(
                TableName=self.table,
                Key=_item({"pk": run_id, "sk": RUN_KEY}),
                UpdateExpression="SET #s = :complete, finished_at = :now",
                ConditionExpression="scopes_remaining = :zero AND #s = :running",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=_values(
                    {
                        ":complete": RunStatus.COMPLETE.value,
                        ":running": RunStatus.RUNNING.value,
                        ":now": _now(),
                        ":zero": 0,
                    }
                ),
            )
        except ClientError as error:
            if _error_code(error) != "ConditionalCheckFailedException":
                raise

    # -- status ------------------------------------------------------------------------------

    def run_state(self, run_id: str) -> RunState:
        items = [_plain(item) for item in self._query(run_id)]
        runs = [item for item in items if item["sk"] == RUN_KEY]
        if not runs:
            raise RunNotFoundError(f"no run {run_id!r} in table {self.table}")
        run = runs[0]
        status = str(run["status"])
        if status == RunStatus.RUNNING.value and int(run.get("scopes_remaining", 1)) == 0:
            status = RunStatus.COMPLETE.value  # its last deletion's worker died before recording it
        shards = [_shard_state(item) for item in items if item["sk"].startswith(SHARD_PREFIX)]
        scopes = [_scope_state(item) for item in items if item["sk"].startswith(SCOPE_PREFIX)]
        return RunState(
            run_id=run_id,
            status=status,
            started_at=str(run["started_at"]),
            finished_at=run.get("finished_at"),
            shards=sorted(shards, key=lambda shard: shard.task.shard_id),
            scopes=sorted(scopes, key=lambda scope: scope.scope.key),
            notes=[str(note) for note in run.get("notes") or []],
        )

    def _query(
        self, run_id: str, sort_prefix: str | None = None, attributes: Sequence[str] = ()
    ) -> Iterator[dict[str, Any]]:
        """The run's items (those whose `sk` starts with `sort_prefix`, with only `attributes`)."""
        condition, values = "pk = :run", {":run": run_id}
        if sort_prefix is not None:
            condition += " AND begins_with(sk, :prefix)"
            values[":prefix"] = sort_prefix
        projection: dict[str, Any] = {}
        if attributes:
            names = {f"#a{number}": name for number, name in enumerate(attributes)}
            projection = {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}
        paginator = self._dynamodb.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=_values(values),
            ConsistentRead=True,
            **projection,
        )
        for page in pages:
            yield from page.get("Items", [])


def _queued_shard(task: ShardTask, expires: int) -> dict[str, Any]:
    return _item(
        {
            "pk": task.run_id,
            "sk": SHARD_PREFIX + task.shard_id,
            "task": task.body(),
            "status": ShardStatus.QUEUED.value,
            "attempts": 0,
            "expires_at": expires,
        }
    )


def _shard_state(item: Mapping[str, Any]) -> ShardState:
    return ShardState(
        task=ShardTask.from_body(str(item["task"])),
        status=str(item["status"]),
        attempts=int(item.get("attempts") or 0),
        error=item.get("error"),
        counts={name: int(value) for name, value in (item.get("counts") or {}).items()},
        seen_key=item.get("seen_key"),
    )


def _scope_state(item: Mapping[str, Any]) -> ScopeState:
    return ScopeState(
        scope=Scope(str(item["account"]), str(item["blueprint"])),
        total=int(item["total"]),
        remaining=int(item["remaining"]),
        deletion=str(item["deletion"]),
        blocked=item.get("blocked"),
        deleted=int(item.get("deleted") or 0),
        reason=item.get("reason"),
        claim_token=item.get("claim_token"),
    )


class SqsTaskQueue:
    """`core.sharded_runs.TaskQueue` on an SQS queue, ten messages a call."""

    def __init__(self, sqs: Any, queue_url: str, *, writers: int = PLAN_WRITERS) -> None:
        self._sqs = sqs
        self.queue_url = queue_url
        self.writers = writers

    def send(self, bodies: Sequence[str], delay_seconds: int = 0) -> None:
        batches = [bodies[start : start + 10] for start in range(0, len(bodies), 10)]
        send = functools.partial(self._send_batch, delay_seconds=delay_seconds)
        in_parallel([functools.partial(send, batch) for batch in batches], self.writers)

    def _send_batch(self, batch: Sequence[str], *, delay_seconds: int) -> None:
        delay = {"DelaySeconds": delay_seconds} if delay_seconds else {}
        entries = [{"Id": str(n), "MessageBody": body, **delay} for n, body in enumerate(batch)]
        answer = self._sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
        failed = answer.get("Failed") or []
        if failed:
            first = failed[0]
            raise RuntimeError(
                f"sending {len(failed)} shard message(s) to {self.queue_url} failed: "
                f"{first.get('Code')}: {first.get('Message')}"
            )
