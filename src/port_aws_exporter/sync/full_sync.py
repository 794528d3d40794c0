"""The full sync: every configured kind in every configured region → the catalog, then stale deletion.

For each `resources[]` entry, in config order (relation targets are configured first), and for its
regions concurrently: list a page, read its resources concurrently (bounded per service and
region; botocore's adaptive retry backs off on throttling), map them, and hand the entities to a
writer that bulk-upserts them in the background while the next page is read. Only the identifiers
written are kept, so memory does not grow with the number of resources.

Only what changed is written: while the first pages are listed, the entities this installation
owns in each blueprint are read (the owned-entities search, with the fields the mappings send) and
kept as a short digest per identifier (`core.entity_changes.OwnedDigests`); an entity whose every
sent field already holds its value is not written, and counts as seen for stale deletion.
`SyncOptions.write_all` writes every entity all the same. The dry run counts through the same
comparison.

Afterwards, the entities this installation owns (its `$datasource`) that the run did not write and
that were last updated before the run started are deleted, blueprint by blueprint, and only where
it is safe: every list and read feeding the blueprint succeeded, and the share to delete is below
the threshold. A resource the list returned but the read then did not find is ambiguous (deleted
in between, or AWS's eventual consistency): it counts as seen, is reported, and its entity is left
for the next run or an event to settle; where that entity cannot be told apart, the blueprint's
deletion waits for the next run. When Port fails during this stage, the blueprint's deletion is
reported skipped with the error. A run that must stop early (Lambda's time limit) returns a
checkpoint to resume from; deletion happens once, at the very end. A run asked to stop
(`SyncOptions.should_stop`, Ctrl-C) reads nothing more: the reads not yet started are skipped,
what was read is written, and the report says `interrupted`; stale deletion does not run, since
what was not read would look deleted.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from port_aws_exporter.core.catalog import Catalog, WriteOutcome
from port_aws_exporter.core.config import ExporterConfig, ResourceConfig
from port_aws_exporter.core.entity_changes import BlueprintShape, EntityChange, OwnedDigests, shapes_of
from port_aws_exporter.core.fetching import (
    FetcherFactory,
    FetchError,
    ListedResource,
    ResourceDocument,
    ResourceFetcher,
    complete,
)
from port_aws_exporter.core.kinds.registry import spec_for
from port_aws_exporter.core.mapping import MappedEntity, ResourceMapper, build_mappers
from port_aws_exporter.core.write_order import by_blueprint, write_rounds
from port_aws_exporter.sync.checkpoint import SyncCheckpoint
from port_aws_exporter.sync.dry_run import DryRunCheck
from port_aws_exporter.sync.progress import SyncProgress
from port_aws_exporter.sync.report import DryRunChanges, KindRegionReport, SyncErrorRecord, SyncReport, SyncWarning

log = logging.getLogger(__name__)

DEFAULT_READ_CONCURRENCY = 8
DEFAULT_REGION_CONCURRENCY = 4
# Entities buffered per blueprint before a background bulk write (five 20-entity requests).
WRITE_BATCH_SIZE = 100
# Owned entities fetched per search page during stale deletion (Port allows up to 1000).
STALE_SEARCH_PAGE_SIZE = 1000
# Background write batches allowed in flight before readers wait: bounds memory.
MAX_PENDING_WRITES = 4
# Blueprints whose owned entities are read at once, while the first pages are listed.
OWNED_READ_CONCURRENCY = 2


@dataclass
class SyncOptions:
    """How a full sync runs."""

    default_region: str = "us-east-1"
    deletion_threshold: float | None = None  # None: the config's (default 0.9)
    dry_run: bool = False
    # Write every entity, changed or not (`--write-all`); the owned entities are still read, to
    # report what was created, updated and unchanged.
    write_all: bool = False
    read_concurrency: int = DEFAULT_READ_CONCURRENCY
    region_concurrency: int = DEFAULT_REGION_CONCURRENCY
    # Asked between pages; True makes the run stop and return a checkpoint (Lambda time limit).
    should_pause: Callable[[], bool] = field(default=lambda: False)
    # Asked between pages and before every read; True makes the run stop early (Ctrl-C): no
    # further read starts, what was read is written, stale deletion does not run.
    should_stop: Callable[[], bool] = field(default=lambda: False)
    # Called after every page with the (kind, region) report.
    on_progress: Callable[[KindRegionReport], None] = field(default=lambda report: None)
    # Told when each (kind, region) starts and finishes, for displays and heartbeats; its rows are
    # labelled `progress_account` (an organisation's sync sets it per account).
    progress: SyncProgress = field(default_factory=SyncProgress)
    progress_account: str = ""
    # The scope of a run, for a caller that splits a sync into parts (`sync.accounts`): which
    # `resources[]` entries (None: all; their blueprints alone are pruned), the regions of an entry
    # (None: its `selector.aws.regions`, else `default_region`; an empty list reads nothing),
    # blueprints whose deletion is blocked from the start (and why), and which listing failures are
    # warnings (the reason) rather than errors; a warning still blocks its blueprints' deletion.
    entries: Sequence[int] | None = None
    regions_for: Callable[[int, ResourceConfig], Sequence[str]] | None = None
    blocked_deletions: Mapping[str, str] = field(default_factory=dict)
    warning_for: Callable[[FetchError], str | None] = field(default=lambda error: None)
    # False: a shard of a sharded run (`sync.sharded`); its scopes' deletion runs once all their
    # shards are done, through `FullSync.delete_stale`.
    delete_stale: bool = True


@dataclass
class SyncOutcome:
    """The report, and the checkpoint to resume from when the run paused before the end."""

    report: SyncReport
    checkpoint: SyncCheckpoint | None = None
    # The identifiers written, per blueprint (what stale deletion spared; so far, when paused).
    written: Mapping[str, set[str]] = field(default_factory=dict)
    # Per blueprint: entities kept as their resource was listed but not found when read; and the
    # blueprints whose deletion this run blocks, with why (a sharded run gathers them per scope).
    unsettled: Mapping[str, set[str]] = field(default_factory=dict)
    blocked: Mapping[str, str] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.checkpoint is None


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class _Paused(Exception):
    """The run stops here and resumes from a checkpoint."""


class _Stopped(Exception):
    """The run was asked to stop (`SyncOptions.should_stop`): a background read gives up."""


# What a read that was not started, because the run is stopping, answers instead of an error.
_SKIPPED = "skipped: the sync is stopping"


class FullSync:
    """One full sync run (or one leg of a checkpointed run).

    Example::

        clients = AwsClients()
        sync = FullSync(config, lambda spec: fetcher_for(spec, clients), port_client, installation.owned_entities_query)
        outcome = sync.run()  # outcome.report; outcome.checkpoint when it paused
    """

    def __init__(
        self,
        config: ExporterConfig,
        fetchers: FetcherFactory,
        catalog: Catalog,
        owned_entities_query: Mapping[str, Any],
        options: SyncOptions | None = None,
    ) -> None:
        self.config = config
        self.options = options or SyncOptions()
        self._fetchers = fetchers
        self._catalog = catalog
        self._owned_query = owned_entities_query
        self._mappers = build_mappers(config)
        threshold = self.options.deletion_threshold
        self._threshold = threshold if threshold is not None else config.deletion_threshold
        self._report = SyncReport(dry_run=self.options.dry_run)
        self._state = SyncCheckpoint.start(_now())
        self._writer: _BackgroundWriter | None = None
        self._owned: _OwnedReader | None = None

    def run(self, resume_from: SyncCheckpoint | None = None) -> SyncOutcome:
        """Sync everything (from the checkpoint, if given); returns the report and, if the run
        paused, the checkpoint to continue from."""
        started = time.monotonic()
        if resume_from is not None:
            self._state = resume_from
            self._report.kinds = list(resume_from.kind_reports())
            self._report.resumed_from_checkpoint = True
        for blueprint, reason in self.options.blocked_deletions.items():
            self._state.block_deletion(blueprint, reason)
        blueprints = self._read_blueprints()
        check = DryRunCheck(blueprints, self._known_targets(blueprints)) if self.options.dry_run else None
        try:
            with (
                _OwnedReader(
                    self._catalog, self._owned_query, self._shapes(), self._report, self.options.should_stop
                ) as owned,
                _BackgroundWriter(
                    self._catalog, self._report, self._state, owned, self.options.write_all, check
                ) as writer,
            ):
                self._writer = writer
                self._owned = owned
                self._sync_resources()
        except _Paused:
            self._state.pause(self._report.kinds, time.monotonic() - started)
            self._report.seconds = self._state.previous_seconds
            self._report.checkpointed = True
            return SyncOutcome(
                self._report,
                self._state,
                written=self._state.written,
                unsettled=self._state.unsettled,
                blocked=self._state.deletion_blocked,
            )
        if self.options.should_stop():
            self._report.interrupted = True
            log.warning("full sync interrupted: stale deletion does not run")
        elif self.options.delete_stale:
            self._delete_stale(self._config_blueprints())
        self._report.seconds = time.monotonic() - started + self._state.previous_seconds
        self._log_finished()
        return SyncOutcome(
            self._report,
            written=self._state.written,
            unsettled=self._state.unsettled,
            blocked=self._state.deletion_blocked,
        )

    def delete_stale(self, state: SyncCheckpoint, blueprints: Sequence[str]) -> SyncReport:
        """Stale deletion alone, with today's rules, over the state of a run whose listing ran
        elsewhere (the shards of a sharded run): what it wrote or found unchanged, what it kept,
        what it blocked and when it began."""
        self._state = state
        self._delete_stale(blueprints)
        return self._report

    def _log_finished(self) -> None:
        report = self._report
        fields: dict[str, object] = {
            "listed": report.listed,
            "written": report.written,
            "entities_created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "failed": report.failed,
            "deleted": report.deleted,
            "error_count": report.error_count,
            "seconds": round(report.seconds, 3),
            "interrupted": report.interrupted,
            "dry_run": report.dry_run,
        }
        if self.options.progress_account:
            fields["account"] = self.options.progress_account
        log.info("full sync finished", extra=fields)

    # -- listing, reading, mapping -----------------------------------------------------------

    def _entry_indices(self) -> list[int]:
        entries = self.options.entries
        return list(range(len(self.config.resources))) if entries is None else sorted(set(entries))

    def _regions(self, index: int, resource: ResourceConfig) -> Sequence[str]:
        if self.options.regions_for is not None:
            return self.options.regions_for(index, resource)
        return resource.selector.aws.regions or [self.options.default_region]

    def _sync_resources(self) -> None:
        for index in self._entry_indices():
            if index < self._state.resource_index:
                continue
            if self.options.should_stop():
                break
            resource = self.config.resources[index]
            regions = self._regions(index, resource)
            pending = [r for r in regions if r not in self._state.regions_done]
            missing = [bp for bp in self._mappers[index].blueprints if bp in self._report.missing_blueprints]
            if missing:
                self._skip_entry(index, resource, pending, missing[0])
                pending = []
            with ThreadPoolExecutor(max_workers=max(1, self.options.region_concurrency)) as pool:
                units = [pool.submit(self._sync_region, index, resource, region) for region in pending]
                for unit in units:
                    unit.result()
            assert self._writer is not None
            self._writer.drain()  # the next entries' relations may point at these entities
            if self.options.should_stop():
                break
            self._state.next_resource(index + 1)

    def _report_for(self, index: int, kind: str, region: str) -> KindRegionReport:
        """The (kind, region) report, continued from an earlier leg of a checkpointed run."""
        with self._report.lock:
            for report in self._report.kinds:
                if (report.index, report.region) == (index, region):
                    return report
            report = KindRegionReport(index, kind, region)
            self._report.kinds.append(report)
            return report

    def _sync_region(self, index: int, resource: ResourceConfig, region: str) -> None:
        if self.options.should_stop():
            return
        spec = spec_for(resource.kind)
        report = self._report_for(index, resource.kind, region)
        mapper = self._mappers[index]
        started = time.monotonic()
        self.options.progress.kind_started(report, self.options.progress_account)
        try:
            fetcher = self._fetchers(spec)
            token = self._state.resume_tokens.get(region)
            with ThreadPoolExecutor(max_workers=max(1, self.options.read_concurrency)) as readers:
                for page in fetcher.list_pages(region, resource.selector.aws, token):
                    self._sync_page(fetcher, mapper, report, readers, page.resources)
                    self.options.on_progress(report)
                    if self.options.should_stop():
                        break
                    if page.resume_token is not None and self.options.should_pause():
                        assert self._writer is not None
                        self._writer.drain()
                        self._state.pause_region(region, page.resume_token)
                        raise _Paused
        except FetchError as error:
            warning = self.options.warning_for(error)
            if warning is None:
                self._fail(report, mapper, None, str(error))
            else:
                self._warn(report, mapper, warning)
        finally:
            report.seconds += time.monotonic() - started
            self.options.progress.kind_finished(report, self.options.progress_account)
        if self.options.should_stop():
            log.info("kind stopped before the end of its listing", extra={"kind": report.kind, "region": region})
            return
        self._state.region_done(region)
        # `created` is a LogRecord attribute of its own: the log line names the entity counts apart.
        fields = report.as_dict()
        fields["entities_created"] = fields.pop("created")
        log.info("kind listed and read", extra=fields)

    def _sync_page(
        self,
        fetcher: ResourceFetcher,
        mapper: ResourceMapper,
        report: KindRegionReport,
        readers: ThreadPoolExecutor,
        listed: list[ListedResource],
    ) -> None:
        region = report.region
        documents: Iterable[tuple[ResourceDocument | None, str | None]]
        if all(item.document is not None for item in listed):
            # The list returned whole documents (useListProperties): handing each to a reader
            # thread would cost more CPU than the mapping itself.
            documents = [(item.document, None) for item in listed]
        else:
            documents = readers.map(lambda item: self._read_unless_stopped(fetcher, region, item), listed)
        entities: list[MappedEntity] = []
        for item, (document, error) in zip(listed, documents, strict=True):
            if error is _SKIPPED:
                continue
            if error is not None:
                self._fail(report, mapper, item.identifier, error)
                continue
            with self._report.lock:
                report.listed += 1
            if document is None:  # listed, then not found: deleted in between, or not visible yet
                self._unsettled(report, mapper, item.identifier)
                continue
            result = mapper.map_document(document)
            if result.filtered:
                with self._report.lock:
                    report.filtered += 1
            for failure in result.failures:
                self._fail(report, mapper, item.identifier, str(failure))
            entities.extend(result.entities)
        assert self._writer is not None
        self._writer.submit(report, mapper, entities)

    def _read_unless_stopped(
        self, fetcher: ResourceFetcher, region: str, item: ListedResource
    ) -> tuple[ResourceDocument | None, str | None]:
        """A read queued before the run was asked to stop is skipped, so that stopping waits only
        for the reads already in flight."""
        if self.options.should_stop():
            return None, _SKIPPED
        return self._read(fetcher, region, item)

    @staticmethod
    def _read(
        fetcher: ResourceFetcher, region: str, item: ListedResource
    ) -> tuple[ResourceDocument | None, str | None]:
        try:
            return complete(fetcher, region, item), None
        except FetchError as error:
            return None, str(error)

    def _fail(self, report: KindRegionReport, mapper: ResourceMapper, identifier: str | None, error: str) -> None:
        log.warning(
            "sync error", extra={"kind": report.kind, "region": report.region, "identifier": identifier, "error": error}
        )
        with self._report.lock:
            report.failed += 1
        self._report.record_error(SyncErrorRecord(report.kind, report.region, identifier, error))
        reason = f"{report.kind} in {report.region} had errors"
        for blueprint in mapper.blueprints:
            self._state.block_deletion(blueprint, reason)

    def _warn(self, report: KindRegionReport, mapper: ResourceMapper, reason: str) -> None:
        log.warning("sync warning", extra={"kind": report.kind, "region": report.region, "reason": reason})
        self._report.record_warning(SyncWarning(report.kind, report.region, reason))
        for blueprint in mapper.blueprints:
            self._state.block_deletion(blueprint, f"{report.kind} in {report.region} was not read: {reason}")

    def _unsettled(self, report: KindRegionReport, mapper: ResourceMapper, identifier: str) -> None:
        """A listed resource the read did not find: keep its entity (the one a delete event would
        name, `mapper.delete_targets`); `itemsToParse` blueprints, whose entities cannot be told,
        wait for the next run."""
        log.warning(
            "listed resource not found when read: its entity is kept",
            extra={"kind": report.kind, "region": report.region, "identifier": identifier},
        )
        with self._report.lock:
            report.not_found += 1
        self._report.record_not_found(SyncErrorRecord(report.kind, report.region, identifier, "not found when read"))
        targets = dict(mapper.delete_targets(identifier))
        for blueprint in mapper.blueprints:
            if blueprint in targets:
                self._state.keep_unsettled(blueprint, targets[blueprint])
            else:
                self._state.block_deletion(
                    blueprint, f"{report.kind} {identifier} in {report.region} was listed but not found when read"
                )

    def _skip_entry(self, index: int, resource: ResourceConfig, regions: Sequence[str], blueprint: str) -> None:
        """An entry mapping to a blueprint the catalog lacks is not read: one error per region, and
        none of its blueprints' entities is deleted."""
        reason = f"not synced: blueprint {blueprint!r} does not exist in the catalog"
        for region in regions:
            report = self._report_for(index, resource.kind, region)
            self._report.record_error(SyncErrorRecord(report.kind, region, None, reason))
        for other in self._mappers[index].blueprints:
            self._state.block_deletion(other, f"{resource.kind} was not synced: {reason}")

    # -- blueprints --------------------------------------------------------------------------

    def _read_blueprints(self) -> dict[str, dict[str, Any]]:
        """The configured blueprints as the catalog holds them; a missing one is reported (its
        kinds are skipped, its entities never deleted)."""
        found: dict[str, dict[str, Any]] = {}
        for blueprint in self._config_blueprints():
            definition = self._catalog.get_blueprint(blueprint)
            if definition is None:
                log.error("blueprint missing from the catalog: its kinds are skipped", extra={"blueprint": blueprint})
                self._report.missing_blueprints.append(blueprint)
                self._state.block_deletion(blueprint, "the blueprint does not exist in the catalog")
            else:
                found[blueprint] = definition
        return found

    def _known_targets(self, blueprints: Mapping[str, Mapping[str, Any]]) -> dict[str, set[str]]:
        """Dry run only: the identifiers of every entity of the relation-target blueprints (whoever
        owns them), to tell a relation the real run could write from one Port would refuse."""
        known: dict[str, set[str]] = {}
        for target in DryRunCheck.target_blueprints(blueprints):
            if target in self._report.missing_blueprints or self._catalog.get_blueprint(target) is None:
                continue
            entities = self._catalog.iter_blueprint_entities(
                target, None, include=["$identifier"], page_size=STALE_SEARCH_PAGE_SIZE
            )
            known[target] = {entity["identifier"] for entity in entities}
        return known

    # -- stale deletion ----------------------------------------------------------------------

    def _config_blueprints(self) -> list[str]:
        mappers = [self._mappers[index] for index in self._entry_indices()]
        return list(dict.fromkeys(blueprint for mapper in mappers for blueprint in mapper.blueprints))

    def _shapes(self) -> dict[str, BlueprintShape]:
        """What the selected entries' mappings send, per blueprint."""
        resources = [self.config.resources[index] for index in self._entry_indices()]
        return shapes_of(mapping for resource in resources for mapping in resource.port.entity.mappings)

    def _delete_stale(self, blueprints: Sequence[str]) -> None:
        for blueprint in blueprints:
            blocked = self._state.deletion_blocked.get(blueprint)
            if blocked is not None:
                self._skip_deletion(blueprint, blocked)
                continue
            try:
                stale, owned, kept = self._stale_entities(blueprint)
            except Exception as error:  # Port failed (sync/ sees the catalog only through its interface)
                self._deletion_failed(blueprint, f"searching its owned entities failed: {error}")
                continue
            unknown = sorted(self._state.unsettled.get(blueprint, set()) - kept)
            if unknown:
                self._skip_deletion(
                    blueprint,
                    f"{unknown[0]!r} was listed but not found when read, and no owned entity has that identifier: "
                    "its entity, if it has one, cannot be told apart, so none is deleted this run",
                )
                continue
            if not stale:
                continue
            share = len(stale) / owned
            if share > self._threshold:
                self._skip_deletion(
                    blueprint,
                    f"{len(stale)} of {owned} owned entities would be deleted ({share:.0%}), "
                    f"above the deletion threshold of {self._threshold:.0%}",
                )
                continue
            if self.options.dry_run:
                self._report.changes.setdefault(blueprint, DryRunChanges()).delete = sorted(stale)
                continue
            try:
                deleted = self._catalog.bulk_delete(blueprint, sorted(stale))
            except Exception as error:  # Port failed: what it deleted before failing is unknown
                self._deletion_failed(blueprint, f"deleting {len(stale)} stale entities failed: {error}")
                continue
            self._report.deleted += len(deleted)
            log.info("deleted stale entities", extra={"blueprint": blueprint, "deleted": len(deleted)})

    def _skip_deletion(self, blueprint: str, reason: str) -> None:
        self._report.deletion_skipped[blueprint] = reason
        log.warning("stale deletion skipped", extra={"blueprint": blueprint, "reason": reason})

    def _deletion_failed(self, blueprint: str, reason: str) -> None:
        """A Port failure during stale deletion: skipped for the blueprint, and counted as an error."""
        with self._report.lock:
            self._report.deletion_errors[blueprint] = reason
            self._report.error_count += 1
        self._skip_deletion(blueprint, reason)

    def _stale_entities(self, blueprint: str) -> tuple[list[str], int, set[str]]:
        """Owned entities not written by this run and last updated before it began; how many
        entities the installation owns in the blueprint; and the owned entities kept because their
        resource was listed but not found when read.

        The owned entities were read once, as digests, for the change-only comparison: the stale
        ones are among those, and only they are searched again (for `$updatedAt`). Without that
        read (it failed, or was not needed), every owned entity is searched here."""
        digests = self._owned.held(blueprint) if self._owned is not None else None
        if digests is not None:
            return self._stale_of_held(blueprint, digests)
        written = self._state.written.get(blueprint, set())
        unsettled = self._state.unsettled.get(blueprint, set())
        started_at = self._state.started_at
        owned = 0
        stale = []
        kept: set[str] = set()
        for entity in self._catalog.iter_blueprint_entities(
            # Meta-properties take Port's `$` prefix in a search body's `include`; bare names are properties.
            blueprint,
            self._owned_query,
            include=["$identifier", "$updatedAt"],
            page_size=STALE_SEARCH_PAGE_SIZE,
        ):
            owned += 1
            if entity["identifier"] in unsettled:
                kept.add(entity["identifier"])
                continue
            if entity["identifier"] in written:
                continue
            updated = _timestamp(entity.get("updatedAt"))
            if updated is not None and updated >= started_at:
                continue  # an event wrote it during this run
            stale.append(entity["identifier"])
        return stale, owned, kept

    def _stale_of_held(self, blueprint: str, digests: OwnedDigests) -> tuple[list[str], int, set[str]]:
        """`_stale_entities` from the owned entities read at the start of the run."""
        written = self._state.written.get(blueprint, set())
        unsettled = self._state.unsettled.get(blueprint, set())
        kept = {identifier for identifier in unsettled if identifier in digests}
        candidates = [i for i in digests if i not in written and i not in unsettled]
        # Created by this run: the search at the end of the run would have counted them as owned.
        owned = len(digests) + sum(1 for identifier in written if identifier not in digests)
        started_at = self._state.started_at
        stale = []
        for start in range(0, len(candidates), STALE_SEARCH_PAGE_SIZE):
            chunk = candidates[start : start + STALE_SEARCH_PAGE_SIZE]
            query = {
                "combinator": "and",
                "rules": [dict(self._owned_query), {"property": "$identifier", "operator": "in", "value": chunk}],
            }
            for entity in self._catalog.iter_blueprint_entities(
                blueprint, query, include=["$identifier", "$updatedAt"], page_size=STALE_SEARCH_PAGE_SIZE
            ):
                updated = _timestamp(entity.get("updatedAt"))
                if updated is not None and updated >= started_at:
                    continue  # an event wrote it during this run
                stale.append(entity["identifier"])
        return stale, owned, kept


# The changes a change-only sync writes.
_WRITTEN = frozenset({EntityChange.CREATE, EntityChange.UPDATE})


def _timestamp(value: Any) -> datetime.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


class _OwnedReader:
    """Reads, in the background, the entities this installation owns in each blueprint, as digests
    (`OwnedDigests`): the writer waits for a blueprint's before its first write. A read that fails
    is reported as a warning, and every entity of that blueprint is written, as without it."""

    def __init__(
        self,
        catalog: Catalog,
        query: Mapping[str, Any],
        shapes: Mapping[str, BlueprintShape],
        report: SyncReport,
        should_stop: Callable[[], bool],
    ) -> None:
        self._catalog = catalog
        self._query = query
        self._report = report
        self._should_stop = should_stop
        self._pool = ThreadPoolExecutor(max_workers=OWNED_READ_CONCURRENCY, thread_name_prefix="port-owned")
        self._reads = {
            blueprint: self._pool.submit(self._read, blueprint, shape) for blueprint, shape in shapes.items()
        }
        self._failed: set[str] = set()
        self._lock = threading.Lock()

    def __enter__(self) -> _OwnedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _read(self, blueprint: str, shape: BlueprintShape) -> OwnedDigests:
        digests = OwnedDigests(shape)
        for entity in self._catalog.iter_blueprint_entities(
            blueprint, self._query, include=shape.include(), page_size=STALE_SEARCH_PAGE_SIZE
        ):
            if self._should_stop():
                raise _Stopped
            digests.add(entity)
        log.info("owned entities read", extra={"blueprint": blueprint, "owned": len(digests)})
        return digests

    def held(self, blueprint: str) -> OwnedDigests | None:
        """The blueprint's digests if they were read (None: not read, not yet, or failed)."""
        read = self._reads.get(blueprint)
        if read is None or not read.done() or read.cancelled() or read.exception() is not None:
            return None
        return read.result()

    def digests(self, blueprint: str, report: KindRegionReport) -> OwnedDigests | None:
        """The blueprint's digests; None when they could not be read (warned once, for `report`)."""
        read = self._reads.get(blueprint)
        if read is None:
            return None
        try:
            return read.result()
        except _Stopped:  # the run is stopping: what is left to write is written whole, unwarned
            return None
        except Exception as error:  # Port failed (sync/ sees the catalog only through its interface)
            with self._lock:
                first = blueprint not in self._failed
                self._failed.add(blueprint)
            if first:
                reason = (
                    f"reading the {blueprint} entities this installation owns failed: {error}; "
                    "every entity of it is written, changed or not"
                )
                log.warning("owned entities not read", extra={"blueprint": blueprint, "reason": reason})
                self._report.record_warning(SyncWarning(report.kind, report.region, reason))
            return None


class _BackgroundWriter:
    """Bulk-upserts the entities that changed in the background, in relation order, and records
    what was written and what was seen unchanged."""

    def __init__(
        self,
        catalog: Catalog,
        report: SyncReport,
        state: SyncCheckpoint,
        owned: _OwnedReader,
        write_all: bool,
        check: DryRunCheck | None = None,
    ) -> None:
        self._catalog = catalog
        self._report = report
        self._state = state
        self._owned = owned
        self._write_all = write_all
        self._check = check
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="port-writer")
        self._slots = threading.BoundedSemaphore(MAX_PENDING_WRITES)
        self._pending: list[Future[None]] = []
        self._buffers: dict[int, tuple[KindRegionReport, ResourceMapper, list[MappedEntity]]] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> _BackgroundWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.drain()
        finally:
            self._pool.shutdown(wait=True)

    def submit(self, report: KindRegionReport, mapper: ResourceMapper, entities: list[MappedEntity]) -> None:
        """Buffer a page's entities; write in the background once a batch is full.

        Batches span pages, so that bulk requests carry their full 20 entities even when list pages
        are small (Cloud Control pages hold 20 to 100 resources).
        """
        with self._lock:
            buffer = self._buffers.setdefault(id(report), (report, mapper, []))[2]
            buffer.extend(entities)
            full = len(buffer) >= WRITE_BATCH_SIZE
            if full:
                del self._buffers[id(report)]
        if full:
            self._write_in_background(report, mapper, buffer)

    def _write_in_background(
        self, report: KindRegionReport, mapper: ResourceMapper, entities: list[MappedEntity]
    ) -> None:
        self._slots.acquire()
        future = self._pool.submit(self._write, report, mapper, entities)
        future.add_done_callback(lambda _: self._slots.release())
        with self._lock:
            self._pending.append(future)

    def drain(self) -> None:
        """Write what is buffered, wait for every write so far; re-raise a writer crash."""
        with self._lock:
            buffered, self._buffers = list(self._buffers.values()), {}
        for report, mapper, entities in buffered:
            if entities:
                self._write_in_background(report, mapper, entities)
        with self._lock:
            pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def _write(self, report: KindRegionReport, mapper: ResourceMapper, entities: list[MappedEntity]) -> None:
        # One write per entity: several resources may map to the same entity (a shared layer).
        unique = list({(entity.blueprint, entity.identifier): entity for entity in entities}.values())
        for round_entities in write_rounds(unique):
            for blueprint, group in by_blueprint(round_entities).items():
                digests = self._owned.digests(blueprint, report)
                changes = {
                    entity.identifier: EntityChange.UPDATE if digests is None else digests.classify(entity.entity)
                    for entity in group
                }
                unchanged = [entity for entity in group if changes[entity.identifier] is EntityChange.UNCHANGED]
                to_write = group if self._write_all else [e for e in group if changes[e.identifier] in _WRITTEN]
                if self._report.dry_run:
                    self._count_dry_run(report, blueprint, group, changes, len(to_write))
                    continue
                if not self._write_all:
                    self._seen_unchanged(report, blueprint, unchanged)
                if to_write:
                    outcomes = self._catalog.bulk_upsert(blueprint, [entity.entity for entity in to_write])
                    self._record(report, blueprint, outcomes, changes)

    def _seen_unchanged(self, report: KindRegionReport, blueprint: str, unchanged: list[MappedEntity]) -> None:
        """Entities already as mapped: not written, but seen (stale deletion spares them)."""
        self._state.record_written(blueprint, [entity.identifier for entity in unchanged])
        with self._report.lock:
            report.unchanged += len(unchanged)

    def _record(
        self,
        report: KindRegionReport,
        blueprint: str,
        outcomes: Sequence[WriteOutcome],
        changes: Mapping[str, EntityChange],
    ) -> None:
        written = [outcome.identifier for outcome in outcomes if outcome.ok]
        self._state.record_written(blueprint, written)
        with self._report.lock:
            report.written += len(written)
            for identifier in written:
                report.count_change(changes.get(identifier, EntityChange.UPDATE).value)
        for outcome in outcomes:
            if not outcome.ok:
                error = f"writing {blueprint}/{outcome.identifier} failed: {outcome.error}: {outcome.message}"
                with self._report.lock:
                    report.failed += 1
                self._report.record_error(SyncErrorRecord(report.kind, report.region, outcome.identifier, error))
                self._state.block_deletion(blueprint, f"writing {report.kind} entities failed")

    def _count_dry_run(
        self,
        report: KindRegionReport,
        blueprint: str,
        group: list[MappedEntity],
        changes: Mapping[str, EntityChange],
        to_write: int,
    ) -> None:
        accepted = self._refuse_as_port_would(report, blueprint, group)
        to_write -= len(group) - len(accepted)
        group = accepted
        with self._report.lock:
            blueprint_changes = self._report.changes.setdefault(blueprint, DryRunChanges())
            for entity in group:
                change = changes[entity.identifier]
                report.count_change(change.value)
                blueprint_changes.count(change.value)
            report.written += to_write
        self._state.record_written(blueprint, [entity.identifier for entity in group])

    def _refuse_as_port_would(
        self,
        report: KindRegionReport,
        blueprint: str,
        group: list[MappedEntity],
    ) -> list[MappedEntity]:
        """Dry run: the entities Port would accept; the others are failures, as in the real run.

        The owned entities are read as digests (flat memory), so the check sees the sent fields
        alone, not merged over what Port holds."""
        if self._check is None:
            return group
        accepted = []
        for entity in group:
            problem = self._check.problem(blueprint, entity.entity, None, self._state.written)
            if problem is None:
                accepted.append(entity)
                continue
            error = f"writing {blueprint}/{entity.identifier} would fail: {problem.code}: {problem.message}"
            with self._report.lock:
                report.failed += 1
            self._report.record_error(SyncErrorRecord(report.kind, report.region, entity.identifier, error))
            self._state.block_deletion(blueprint, f"writing {report.kind} entities would fail")
        return accepted
