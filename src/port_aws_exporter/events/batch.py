"""Event batches: SQS messages from EventBridge rules, applied to the catalog.

Each message (the seed's format, `core.message`, or a whole EventBridge event that
`core.kinds.raw_events` resolves through the kind registry; `events.intake` reads both) names one
resource, in one account (`events.accounts` routes it): `upsert` reads its current state
with the fetcher the full sync uses and writes what the config's mappings make of it; `delete`
removes the entity from every blueprint the kind's mappings write. A batch runs in phases:

1. evaluate every message (sandboxed jq; a raw event needs none); a bad one fails alone, permanently;
   a raw event the exporter does not apply (a failed call, a kind or an account the config does
   not cover) is acknowledged as ignored, with the reason, and counted. The batch's jq time
   is bounded as a whole (`jq_batch_seconds`): once runaway programs have spent it, the messages
   not yet evaluated fail transiently and come back, rather than the batch running out its time;
2. coalesce messages about the same resource (account, kind, region, identifier): one read and one write,
   the last message in batch order deciding the action (the worker's `coalesce_seconds` gathers the
   messages of several receives into one batch, to coalesce a burst);
3. read every resource once, concurrently;
4. decide: not found yet, a delete that the resource contradicts (`core.delete_guard`), a read error;
5. delete in bulk, then upsert in bulk (relation targets first, `core.write_order`): when a batch both
   deletes and writes one entity (a queue named by its URL in one message, by its name in another),
   the write, made from the resource's current state, is the one that stands. A delete follows the
   full sync's ownership rule: only entities this installation owns (`owned_entities_query`, its
   `$datasource`) are deleted; another's entity is left alone and the message says so. An upsert
   that would change nothing this `EventBatch` wrote in the last `unchanged_memory_seconds`
   (`events.recent_writes`, the change-only sync's comparison) is not sent: the message is applied,
   its entity `unchanged`.

With a `deadline` (the Lambda consumer's, from the invocation's remaining time), no read or catalog
call starts later than `call_reserve_seconds` before it: the messages not applied by then fail
transiently and come back, and the batch answers in time instead of being killed with all of them.

Only what was applied, or dropped on purpose with a logged reason, is acknowledged: every other
message is reported failed and comes back through the queue (Lambda's `batchItemFailures`, or the
worker not deleting it); the queue's redrive policy moves repeated failures to the dead-letter
queue. Dropped on purpose: a resource still not found after `not_found_attempts` deliveries (it was
deleted since); a delete held back by the guard `overmatch_attempts` times (the rule over-matches).

    batch = EventBatch(config, lambda spec: fetcher_for(spec, clients), port_client, evaluator,
                       owned_entities_query=installation.owned_entities_query)
    outcome = batch.process([SqsRecord.from_lambda(record) for record in event["Records"]])
    return outcome.batch_item_failures()
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from port_aws_exporter.core.accounts import AccountUnavailableError, OrganizationUnavailableError
from port_aws_exporter.core.catalog import Catalog
from port_aws_exporter.core.config import ExporterConfig
from port_aws_exporter.core.entity_changes import shapes_of
from port_aws_exporter.core.fetching import FetcherFactory, ResourceFetcher
from port_aws_exporter.core.jq.worker import TimeLimitedJq
from port_aws_exporter.core.kinds.raw_events import IgnoredEvent, ResourceRequest
from port_aws_exporter.core.kinds.registry import KindSpec, spec_for
from port_aws_exporter.core.mapping import MappedEntity, build_mappers, mappers_for_kind
from port_aws_exporter.core.message import MessageError
from port_aws_exporter.core.write_order import by_blueprint, write_rounds
from port_aws_exporter.events import intake
from port_aws_exporter.events.accounts import AccountNotCovered, AccountRoute, AccountRoutes, OwnAccount
from port_aws_exporter.events.decisions import PendingMessage, ResourceWork, RetryLimits, decide, settle
from port_aws_exporter.events.recent_writes import DEFAULT_SECONDS as DEFAULT_UNCHANGED_MEMORY_SECONDS
from port_aws_exporter.events.recent_writes import RecentWrites
from port_aws_exporter.events.records import BatchOutcome, EntityRef, MessageResult, SqsRecord

__all__ = [
    "BatchOutcome",
    "EntityRef",
    "EventBatch",
    "EventCounters",
    "EventOptions",
    "MessageResult",
    "SqsRecord",
]

log = logging.getLogger(__name__)

DEFAULT_NOT_FOUND_ATTEMPTS = 3
DEFAULT_OVERMATCH_ATTEMPTS = 3
DEFAULT_READ_CONCURRENCY = 8
# jq time a whole batch may spend evaluating its messages: two runaway programs' worth of the
# default per-message limit (2 s), where ten messages of a normal batch take milliseconds.
DEFAULT_JQ_BATCH_SECONDS = 4.0
# With a deadline: the longest one read or catalog call may take (the Lambda consumer's Port client
# gives up after a 10 s timeout and a 10 s retry budget); none starts later than this before it.
DEFAULT_CALL_RESERVE_SECONDS = 22.0
# A jq evaluation is not started with less time than this: it would be cut off before it began.
_MIN_JQ_SECONDS = 0.05


@dataclass(frozen=True)
class EventOptions:
    """How messages are applied.

    `not_found_attempts` and `overmatch_attempts` count deliveries (SQS's receive count): keep them
    below the queue's `maxReceiveCount`, or such messages reach the dead-letter queue instead of
    being dropped with a reason. 1 means decide at once (the `event` command).

    `jq_batch_seconds` bounds the jq time of a whole batch; `call_reserve_seconds` is, when a batch
    has a deadline, how long before it the last read or catalog call may start.

    `unchanged_memory_seconds`: how long what was written is remembered, to leave out an upsert that
    would change none of it (0: every upsert is written).
    """

    not_found_attempts: int = DEFAULT_NOT_FOUND_ATTEMPTS
    overmatch_attempts: int = DEFAULT_OVERMATCH_ATTEMPTS
    read_concurrency: int = DEFAULT_READ_CONCURRENCY
    delete_dependents: bool = True
    jq_batch_seconds: float = DEFAULT_JQ_BATCH_SECONDS
    call_reserve_seconds: float = DEFAULT_CALL_RESERVE_SECONDS
    unchanged_memory_seconds: float = DEFAULT_UNCHANGED_MEMORY_SECONDS

    def __post_init__(self) -> None:
        for name in ("not_found_attempts", "overmatch_attempts", "read_concurrency"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("jq_batch_seconds", "call_reserve_seconds", "unchanged_memory_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")


@dataclass
class EventCounters:
    """What the batches of one `EventBatch` did, for benchmarks and logs (thread-safe)."""

    batches: int = 0
    messages: int = 0
    resources: int = 0
    reads: int = 0
    upsert_requests: int = 0
    delete_requests: int = 0
    # Entities not written: the upsert would have changed nothing written lately.
    unchanged: int = 0
    # Acknowledged without a change, on purpose: failed calls, kinds or accounts the config does not cover.
    ignored: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **amounts: int) -> None:
        with self._lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            names = (
                "batches",
                "messages",
                "resources",
                "reads",
                "upsert_requests",
                "delete_requests",
                "unchanged",
                "ignored",
            )
            return {name: getattr(self, name) for name in names}


@dataclass
class _Clock:
    """The batch's time: its jq budget, and the deadline by which it must answer (None: none)."""

    jq_left: float
    deadline: float | None
    call_reserve: float

    def jq_allowance(self, limit: float) -> tuple[float, str | None]:
        """Seconds the next evaluation may take (at most `limit`), and what cut it below `limit`."""
        allowed, why = limit, None
        if self.jq_left < allowed:
            allowed, why = max(self.jq_left, 0.0), "the batch's jq time was spent on other messages"
        if self.deadline is not None:
            until_reserve = self.deadline - self.call_reserve - time.monotonic()
            if until_reserve < allowed:
                allowed, why = max(until_reserve, 0.0), "the invocation is running out of time"
        return allowed, why

    def late(self) -> str | None:
        """Why no read or catalog call may start now, or None when one may."""
        if self.deadline is None:
            return None
        left = self.deadline - time.monotonic()
        if left >= self.call_reserve:
            return None
        return f"the invocation is running out of time ({max(left, 0.0):.1f} s left, {self.call_reserve:g} s needed)"


class EventBatch:
    """Applies batches of event messages to the catalog with one config (thread-safe).

    `fetchers` gives the fetcher of a kind (as the full sync's); `catalog` is Port's API; `evaluator`
    runs the messages' jq; `owned_entities_query` selects the entities this installation owns
    (`Installation.owned_entities_query`), the only ones a delete removes. These three are the
    exporter's own account's (`home_account`, when known). `routes` gives the other accounts' (a
    config with `accounts`: `events.accounts.OrganizationRoutes`); without it, a message of another
    account than `home_account` is ignored. Build one per config and reuse it: the mappings are
    compiled once.
    """

    def __init__(
        self,
        config: ExporterConfig,
        fetchers: FetcherFactory,
        catalog: Catalog,
        evaluator: TimeLimitedJq,
        options: EventOptions | None = None,
        *,
        owned_entities_query: Mapping[str, Any],
        home_account: str | None = None,
        routes: AccountRoutes | None = None,
    ) -> None:
        self.config = config
        self._owned_query = dict(owned_entities_query)
        home_id = home_account or (routes.home_account_id if routes is not None else "")
        self._home = AccountRoute(home_id, self._home_fetcher, catalog, self._owned_query)
        self._routes: AccountRoutes | None = routes
        if routes is None and home_id:
            self._routes = OwnAccount(self._home)
        self.options = options or EventOptions()
        self.counters = EventCounters()
        self._fetcher_factory = fetchers
        self._fetchers: dict[tuple[str, str], ResourceFetcher] = {}
        self._fetchers_lock = threading.Lock()
        self._readers: ThreadPoolExecutor | None = None
        self._catalog = catalog
        self._evaluator = evaluator
        mappers = build_mappers(config)
        self._mappers = {kind: mappers_for_kind(mappers, kind) for kind in config.kinds()}
        shapes = shapes_of(mapping for resource in config.resources for mapping in resource.port.entity.mappings)
        self._recent = RecentWrites(shapes, seconds=self.options.unchanged_memory_seconds)

    # -- entry points ------------------------------------------------------------------------

    def process(self, records: Iterable[SqsRecord], *, deadline: float | None = None) -> BatchOutcome:
        """Apply a batch; the outcome says, per record in order, what happened and which failed.

        `deadline` (a `time.monotonic()` value) is when the batch must have answered: what is not
        applied by then fails transiently, to come back (see the module docstring).
        """
        clock = _Clock(self.options.jq_batch_seconds, deadline, self.options.call_reserve_seconds)
        messages = [self._evaluate(record, clock) for record in records]
        routes = self._route(messages)
        resources = self._coalesce(messages, routes)
        self._read(resources, clock)
        limits = RetryLimits(self.options.not_found_attempts, self.options.overmatch_attempts)
        for resource in resources:
            if resource.pending:
                self._guarded(resource, lambda work: decide(work, limits))
        for route, group in _by_route(resources):
            self._delete([resource for resource in group if resource.pending and resource.targets], clock, route)
            self._write([resource for resource in group if resource.pending and resource.entities], clock, route)
        for resource in resources:
            settle(resource)
        outcome = BatchOutcome([message.result for message in messages])
        ignored = sum(1 for message in messages if message.result.ignored is not None)
        self.counters.add(batches=1, messages=len(messages), resources=len(resources), ignored=ignored)
        for result in outcome.results:
            _log_result(result)
        return outcome

    def process_message(self, body: str, *, message_id: str = "message", receive_count: int = 1) -> MessageResult:
        """Apply one message body (the `event` command)."""
        record = SqsRecord(message_id=message_id, body=body, receive_count=receive_count)
        return self.process([record]).results[0]

    # -- 1. evaluation -----------------------------------------------------------------------

    def _evaluate(self, record: SqsRecord, clock: _Clock) -> PendingMessage:
        result = MessageResult(record.message_id, receive_count=record.receive_count)
        message = PendingMessage(record, result)
        try:
            parsed = intake.parse(record.body)
        except MessageError as error:
            result.fail(error.reason, transient=False)
            return message
        if isinstance(parsed, intake.RawEvent):
            message.body = parsed.event
            try:
                resolved = intake.resolve(parsed, self._mappers)
            except MessageError as error:
                result.fail(error.reason, transient=False)
                return message
            _take_raw(result, resolved)
            return message
        message.body = parsed.body
        result.resource_type = parsed.resource_type
        limit = self._evaluator.timeout_seconds
        allowed, cut_by = clock.jq_allowance(limit)
        if allowed < _MIN_JQ_SECONDS:
            result.fail(f"not evaluated: {cut_by}; the message comes back to be evaluated again", transient=True)
            return message
        started = time.monotonic()
        try:
            evaluated = intake.evaluate(parsed, self._evaluator, self._mappers, timeout_seconds=allowed)
        except MessageError as error:
            if error.timed_out and cut_by is not None:
                # Cut below its own limit by the batch's bounds: not the message's fault.
                result.fail(f"{error.reason} ({cut_by}): the message comes back", transient=True)
            else:
                result.fail(error.reason, transient=False)
            return message
        except Exception as error:  # a fault of ours (the jq worker), not of the message: retry
            log.exception("evaluating a message failed", extra={"message_id": record.message_id})
            result.fail(f"evaluating the message failed: {type(error).__name__}: {error}", transient=True)
            return message
        finally:
            clock.jq_left -= time.monotonic() - started
        result.action, result.region, result.identifier = evaluated.action, evaluated.region, evaluated.identifier
        result.account = evaluated.account
        return message

    # -- 1b. accounts ------------------------------------------------------------------------

    def _route(self, messages: list[PendingMessage]) -> dict[str, AccountRoute]:
        """The route of each account the pending messages name (the exporter's own when they name
        none); a message of an account the config does not cover is ignored, one whose account
        cannot be entered now fails transiently."""
        routes: dict[str, AccountRoute | Exception] = {}
        for message in messages:
            result = message.result
            if result.error is not None or result.skipped is not None:
                continue
            account = result.account or self._home.account_id
            if self._routes is None or not account or account == self._home.account_id:
                continue  # the exporter's own account (or one it cannot tell from it)
            if account not in routes:
                try:
                    routes[account] = self._routes.route(account)
                except (AccountNotCovered, AccountUnavailableError, OrganizationUnavailableError) as error:
                    routes[account] = error
            found = routes[account]
            if isinstance(found, AccountNotCovered):
                result.ignore("outside-accounts", f"an event of account {account}, which {found.reason}")
            elif isinstance(found, AccountUnavailableError):
                result.fail(f"account {account} cannot be entered now: {found.reason}", transient=True)
            elif isinstance(found, Exception):
                result.fail(f"which accounts the config covers cannot be read now: {found}", transient=True)
        return {account: route for account, route in routes.items() if isinstance(route, AccountRoute)}

    # -- 2. coalescing -----------------------------------------------------------------------

    def _coalesce(self, messages: list[PendingMessage], routes: Mapping[str, AccountRoute]) -> list[ResourceWork]:
        resources: dict[tuple[str, str, str, str], ResourceWork] = {}
        for message in messages:
            result = message.result
            if result.error is not None or result.skipped is not None:
                continue
            assert result.resource_type and result.region and result.identifier
            route = routes.get(result.account or "", self._home)
            key = (route.account_id, result.resource_type, result.region, result.identifier)
            if key not in resources:
                resources[key] = ResourceWork(*key[1:], mappers=self._mappers[key[1]], route=route)
            resources[key].messages.append(message)
        return list(resources.values())

    # -- 3. reads ----------------------------------------------------------------------------

    def _home_fetcher(self, spec: KindSpec) -> ResourceFetcher:
        return self._fetcher_factory(spec)

    def _fetcher(self, route: AccountRoute, kind: str) -> ResourceFetcher:
        with self._fetchers_lock:
            key = (route.account_id, kind)
            if key not in self._fetchers:
                self._fetchers[key] = route.fetchers(spec_for(kind))
            return self._fetchers[key]

    def _read(self, resources: list[ResourceWork], clock: _Clock) -> None:
        if not resources:
            return

        def read(resource: ResourceWork) -> None:
            late = clock.late()
            if late is not None:
                resource.fail(f"not read: {late}; the message comes back", transient=True)
                return
            try:
                fetcher = self._fetcher(resource.route or self._home, resource.kind)
                resource.document = fetcher.read(resource.region, resource.identifier)
            except Exception as error:  # FetchError, or a fault of ours: decided per resource
                resource.read_error = error

        workers = min(self.options.read_concurrency, len(resources))
        if workers == 1:
            for resource in resources:
                read(resource)
        else:
            list(self._reader_pool().map(read, resources))
        self.counters.add(reads=len(resources))

    def _reader_pool(self) -> ThreadPoolExecutor:
        """The readers, kept for the batch's life: starting eight threads for every SQS batch cost
        about a tenth of a millisecond of CPU per message (bench_process_cpu)."""
        with self._fetchers_lock:
            if self._readers is None:
                self._readers = ThreadPoolExecutor(
                    max_workers=max(1, self.options.read_concurrency), thread_name_prefix="event-read"
                )
                # Its idle threads end when the batch is dropped (a new config, a reset warm state).
                weakref.finalize(self, self._readers.shutdown, wait=False)
            return self._readers

    # -- 4. decisions ------------------------------------------------------------------------

    def _guarded(self, resource: ResourceWork, step: Callable[[ResourceWork], None]) -> None:
        """Run a step for one resource; a fault of ours fails that resource's messages, not the batch."""
        try:
            step(resource)
        except Exception as error:
            log.exception(
                "processing a resource failed", extra={"kind": resource.kind, "identifier": resource.identifier}
            )
            resource.fail(f"processing {resource.where} failed: {type(error).__name__}: {error}", transient=True)

    def _delete(self, resources: list[ResourceWork], clock: _Clock, route: AccountRoute) -> None:
        blueprints: dict[str, list[ResourceWork]] = {}
        for resource in resources:
            for blueprint in dict.fromkeys(target.blueprint for target in resource.targets):
                blueprints.setdefault(blueprint, []).append(resource)
        for blueprint, owners in blueprints.items():
            late = clock.late()
            if late is not None:
                for resource in owners:
                    resource.fail(f"not deleted: {late}; the message comes back", transient=True)
                continue
            identifiers = list(
                dict.fromkeys(t.identifier for r in owners for t in r.targets if t.blueprint == blueprint)
            )
            try:
                owned, others = self._ownership(blueprint, identifiers, route)
                deleted = (
                    set(route.catalog.bulk_delete(blueprint, owned, self.options.delete_dependents)) if owned else set()
                )
            except Exception as error:
                if getattr(error, "status", None) == 404:
                    owned, others, deleted = [], set(), set()  # no such blueprint: none of its entities exists
                else:
                    for resource in owners:
                        resource.fail(f"deleting from {blueprint} failed: {error}", transient=_transient(error))
                    continue
            finally:
                self.counters.add(delete_requests=1)
            if others:
                log.warning(
                    "not deleting entities another installation owns",
                    extra={"blueprint": blueprint, "identifiers": sorted(others)[:20]},
                )
            self._forget(route, blueprint, deleted)
            for resource in owners:
                resource.deleted += [
                    t for t in resource.targets if t.blueprint == blueprint and t.identifier in deleted
                ]
                resource.refused += [t for t in resource.targets if t.blueprint == blueprint and t.identifier in others]

    def _ownership(self, blueprint: str, identifiers: list[str], route: AccountRoute) -> tuple[list[str], set[str]]:
        """(the identifiers of entities the account's installation owns, those of entities someone
        else owns); identifiers in neither are not in the catalog."""
        owned = self._search(blueprint, identifiers, route.owned_entities_query, route.catalog)
        rest = [identifier for identifier in identifiers if identifier not in owned]
        others = self._search(blueprint, rest, None, route.catalog) if rest else set()
        return [identifier for identifier in identifiers if identifier in owned], others

    def _search(
        self, blueprint: str, identifiers: list[str], within: Mapping[str, Any] | None, catalog: Catalog
    ) -> set[str]:
        rules: list[Any] = [{"property": "$identifier", "operator": "in", "value": identifiers}]
        if within is not None:
            rules.append(dict(within))
        query = {"combinator": "and", "rules": rules}
        # Meta-properties take Port's `$` prefix in a search body's `include`.
        found = catalog.iter_blueprint_entities(blueprint, query, include=["$identifier"])
        return {str(entity.get("identifier")) for entity in found}

    def _write(self, resources: list[ResourceWork], clock: _Clock, route: AccountRoute) -> None:
        planned: dict[EntityRef, MappedEntity] = {}
        owners: dict[EntityRef, list[ResourceWork]] = {}
        for resource in resources:
            for entity in resource.entities:
                ref = EntityRef(entity.blueprint, entity.identifier)
                planned.pop(ref, None)  # the last mapping of an entity wins, in its position
                planned[ref] = entity
                owners.setdefault(ref, []).append(resource)
        self._leave_out_unchanged(planned, owners, route)
        for round_entities in write_rounds(list(planned.values())):
            for blueprint, group in by_blueprint(round_entities).items():
                late = clock.late()
                outcomes = (
                    self._upsert(blueprint, group, route.catalog)
                    if late is None
                    else [(False, f"not started, {late}", True)] * len(group)
                )
                for entity, (ok, reason, transient) in zip(group, outcomes, strict=True):
                    ref = EntityRef(blueprint, entity.identifier)
                    self._remember(route, entity, written=ok)
                    for resource in dict.fromkeys(owners[ref]):
                        if ok:
                            resource.written.append(ref)
                        else:
                            resource.write_errors.append(
                                (f"writing {blueprint}/{ref.identifier} failed: {reason}", transient)
                            )

    def _leave_out_unchanged(
        self,
        planned: dict[EntityRef, MappedEntity],
        owners: Mapping[EntityRef, list[ResourceWork]],
        route: AccountRoute,
    ) -> None:
        """Take out of `planned` the entities whose upsert would change nothing written lately."""
        for ref, entity in list(planned.items()):
            if self._recent.unchanged(route.account_id, entity):
                del planned[ref]
                for resource in dict.fromkeys(owners[ref]):
                    resource.unchanged.append(ref)
                self.counters.add(unchanged=1)

    def _remember(self, route: AccountRoute, entity: MappedEntity, *, written: bool) -> None:
        if written:
            self._recent.wrote(route.account_id, entity)
        else:
            self._recent.forget(route.account_id, entity.blueprint, entity.identifier)

    def _forget(self, route: AccountRoute, blueprint: str, identifiers: Iterable[str]) -> None:
        for identifier in identifiers:
            self._recent.forget(route.account_id, blueprint, identifier)

    def _upsert(self, blueprint: str, group: list[MappedEntity], catalog: Catalog) -> list[tuple[bool, str, bool]]:
        self.counters.add(upsert_requests=1)
        try:
            outcomes = list(catalog.bulk_upsert(blueprint, [entity.entity for entity in group]))
        except Exception as error:
            log.exception("bulk upsert raised", extra={"blueprint": blueprint})
            return [(False, str(error), _transient(error)) for _ in group]
        if len(outcomes) != len(group):
            reason = f"the catalog answered {len(outcomes)} results for {len(group)} entities"
            return [(False, reason, True) for _ in group]
        return [(o.ok, f"{o.error}: {o.message}", o.transient) for o in outcomes]


def _take_raw(result: MessageResult, resolved: ResourceRequest | IgnoredEvent) -> None:
    """A resolved raw event's request (or why it is ignored) on its result."""
    if isinstance(resolved, IgnoredEvent):
        result.resource_type, result.region, result.account = resolved.kind, resolved.region, resolved.account
        result.ignore(resolved.why, resolved.reason)
        return
    result.resource_type, result.account = resolved.kind, resolved.account
    result.action, result.region, result.identifier = resolved.action, resolved.region, resolved.identifier


def _by_route(resources: list[ResourceWork]) -> list[tuple[AccountRoute, list[ResourceWork]]]:
    """The resources grouped by account, in order of first appearance: each account writes as its own
    installation."""
    groups: dict[str, tuple[AccountRoute, list[ResourceWork]]] = {}
    for resource in resources:
        assert resource.route is not None
        groups.setdefault(resource.route.account_id, (resource.route, []))[1].append(resource)
    return list(groups.values())


def _transient(error: Exception) -> bool:
    value = getattr(error, "transient", True)
    return value if isinstance(value, bool) else True


def _log_result(result: MessageResult) -> None:
    fields = result.log_fields()
    if result.error is not None:
        level = logging.WARNING if result.transient else logging.ERROR
        log.log(level, "event message failed: %s", result.error, extra=fields)
    elif result.dropped:
        log.warning("event message dropped: %s", result.skipped, extra=fields)
    elif result.ignored is not None:
        log.info("event message ignored: %s", result.skipped, extra=fields)
    elif result.skipped is not None:
        log.info("event message skipped: %s", result.skipped, extra=fields)
    else:
        log.info("event message applied", extra=fields)
