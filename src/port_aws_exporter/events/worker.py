"""The event path as a long-running SQS consumer, for running outside Lambda (a container, a VM).

`SqsWorker` long-polls the queue from `concurrency` threads, hands each batch to the same processing
the Lambda consumer uses (`events.EventBatch.process`), deletes the messages that were applied or
deliberately dropped, and leaves the others to come back: their visibility is set to a backoff that
grows with their receive count, so a Port outage is not hammered and a permanently failing message
reaches the dead-letter queue through the queue's redrive policy.

Coalescing (`coalesce_seconds`, off by default): a burst of events about one resource (created,
then tagged, then configured) arrives over several receives. With a window, what the consumers
receive is held, not applied: the window opens with the first message held and closes
`coalesce_seconds` later (or at `coalesce_max_messages`), and then everything it holds is applied as
one batch, in the order SQS received the messages. `EventBatch` coalesces the messages about one
resource (account, kind, region, identifier) there: one read, one write, the latest message's
action (a delete after upserts wins). Held messages are deleted only once that batch has applied
them; a worker that dies while holding them loses nothing: they return after their visibility
timeout, which the worker sets to outlast the window (`visibility_timeout`, or the window plus
`COALESCE_VISIBILITY_MARGIN_SECONDS`).

A receive that cannot succeed however often it is repeated (the queue does not exist, access is
denied) stops the worker: `fatal_error` holds it, for the caller to report. Other receive errors
(the network, throttling) are logged and retried after a pause.

Stopping (`stop()`, or SIGTERM/SIGINT once the handlers are installed): no new receive starts; a
batch being processed finishes and its applied messages are deleted; messages received after the
stop are released at once (visibility 0) without being applied. A second signal exits immediately
(`os._exit`, after the log lines are flushed: no thread still reading AWS or writing to Port is
waited for): whatever is in flight then returns after its visibility timeout, unapplied or applied
but not deleted (applying a message twice writes the same state twice).

    worker = SqsWorker(batch.process, sqs_client, WorkerOptions(queue_url))
    worker.install_signal_handlers()
    stats = worker.run()
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from types import FrameType
from typing import Any

from port_aws_exporter.aws.sqs_queues import change_visibility, delete_messages, is_permanent_queue_error
from port_aws_exporter.events.records import (
    DEFAULT_MAX_RETRY_DELAY_SECONDS,
    DEFAULT_RETRY_DELAY_SECONDS,
    BatchOutcome,
    SqsRecord,
    retry_delay,
)

log = logging.getLogger(__name__)

DEFAULT_WAIT_SECONDS = 20
DEFAULT_COALESCE_MAX_MESSAGES = 500
# How long past the window a held message stays invisible: time for the batch that applies it.
COALESCE_VISIBILITY_MARGIN_SECONDS = 120
_RECEIVE_ERROR_PAUSE_SECONDS = 5.0

BatchProcessor = Callable[[list[SqsRecord]], BatchOutcome]


@dataclass(frozen=True)
class WorkerOptions:
    """How the worker consumes its queue.

    `visibility_timeout` overrides the queue's for received messages (it must outlast a batch);
    a failed message becomes visible again after `retry_delay_seconds * 2^(receive count - 1)`, at
    most `max_retry_delay_seconds`.

    `coalesce_seconds` > 0 holds what is received for that long and applies it as one batch (see the
    module docstring), at most `coalesce_max_messages` messages at once.
    """

    queue_url: str
    concurrency: int = 2
    max_messages: int = 10
    wait_seconds: int = DEFAULT_WAIT_SECONDS
    visibility_timeout: int | None = None
    retry_delay_seconds: int = DEFAULT_RETRY_DELAY_SECONDS
    max_retry_delay_seconds: int = DEFAULT_MAX_RETRY_DELAY_SECONDS
    coalesce_seconds: float = 0.0
    coalesce_max_messages: int = DEFAULT_COALESCE_MAX_MESSAGES

    def __post_init__(self) -> None:
        problems = []
        if self.concurrency < 1:
            problems.append("concurrency must be at least 1")
        if not 1 <= self.max_messages <= 10:
            problems.append("max_messages must be 1 to 10")
        if not 0 <= self.wait_seconds <= 20:
            problems.append("wait_seconds must be 0 to 20")
        if self.retry_delay_seconds < 0 or self.max_retry_delay_seconds < self.retry_delay_seconds:
            problems.append("retry delays must be 0 <= retry_delay_seconds <= max_retry_delay_seconds")
        if self.coalesce_seconds < 0:
            problems.append("coalesce_seconds must be 0 (off) or more")
        if self.coalesce_max_messages < 1:
            problems.append("coalesce_max_messages must be at least 1")
        if self.coalescing and self.visibility_timeout is not None and self.visibility_timeout <= self.coalesce_seconds:
            problems.append(
                f"visibility_timeout ({self.visibility_timeout} s) must outlast coalesce_seconds "
                f"({self.coalesce_seconds:g} s): held messages would come back before they are applied"
            )
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def coalescing(self) -> bool:
        return self.coalesce_seconds > 0

    def receive_visibility(self) -> int | None:
        """The visibility timeout to receive with (None: the queue's)."""
        if self.visibility_timeout is not None or not self.coalescing:
            return self.visibility_timeout
        return math.ceil(self.coalesce_seconds) + COALESCE_VISIBILITY_MARGIN_SECONDS

    def retry_delay(self, receive_count: int) -> int:
        """Seconds before a failed message (delivered `receive_count` times) is visible again."""
        return retry_delay(receive_count, self.retry_delay_seconds, self.max_retry_delay_seconds)


@dataclass
class WorkerStats:
    """What the worker did (thread-safe counters)."""

    received: int = 0
    acknowledged: int = 0
    failed: int = 0
    released: int = 0
    batches: int = 0
    receive_errors: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **amounts: int) -> None:
        with self._lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            names = ("received", "acknowledged", "failed", "released", "batches", "receive_errors")
            return {name: getattr(self, name) for name in names}


# Message ids of acknowledged messages remembered to recognise a late duplicate delivery.
_REMEMBERED_ACKNOWLEDGED = 10_000


class _Deliveries:
    """Which messages consumers hold now, and which this worker acknowledged recently (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # In-flight message id -> its newest receipt handle (a later delivery's handle supersedes).
        self._in_flight: dict[str, str | None] = {}
        self._acknowledged: OrderedDict[str, None] = OrderedDict()

    def claim(self, records: list[SqsRecord]) -> tuple[list[SqsRecord], list[SqsRecord]]:
        """(records now held by the caller, duplicates of messages already acknowledged)."""
        claimed: list[SqsRecord] = []
        already_done: list[SqsRecord] = []
        with self._lock:
            for record in records:
                if not record.message_id:
                    claimed.append(record)
                elif record.message_id in self._acknowledged:
                    already_done.append(record)
                elif record.message_id in self._in_flight:
                    # SQS deletes with the newest receipt handle only: the holder will use this one.
                    self._in_flight[record.message_id] = record.receipt_handle
                else:
                    self._in_flight[record.message_id] = record.receipt_handle
                    claimed.append(record)
        return claimed, already_done

    def newest(self, records: Sequence[SqsRecord]) -> list[SqsRecord]:
        """The records with the newest receipt handle SQS gave for each (to delete or release them)."""
        with self._lock:
            return [
                replace(record, receipt_handle=self._in_flight.get(record.message_id) or record.receipt_handle)
                for record in records
            ]

    def finish(self, records: Sequence[SqsRecord], acknowledged: Sequence[SqsRecord]) -> None:
        with self._lock:
            for record in records:
                self._in_flight.pop(record.message_id, None)
            for record in acknowledged:
                if record.message_id:
                    self._acknowledged[record.message_id] = None
            while len(self._acknowledged) > _REMEMBERED_ACKNOWLEDGED:
                self._acknowledged.popitem(last=False)


class _Window:
    """The messages held for coalescing (thread-safe): consumers add, the applier takes them once
    the window closes (`seconds` after its first message, at `max_messages`, or when shut)."""

    def __init__(self, seconds: float, max_messages: int) -> None:
        self._seconds = seconds
        self._max_messages = max_messages
        self._changed = threading.Condition()
        self._records: list[SqsRecord] = []
        self._opened_at = 0.0
        self._shut = False

    def add(self, records: list[SqsRecord]) -> None:
        with self._changed:
            if not self._records:
                self._opened_at = time.monotonic()
            self._records.extend(records)
            self._changed.notify_all()

    def shut(self) -> None:
        """No more messages will come: hand over what is held now."""
        with self._changed:
            self._shut = True
            self._changed.notify_all()

    def take(self) -> tuple[list[SqsRecord], bool]:
        """(the messages of the window that closed, whether the window is shut), waiting for it."""
        with self._changed:
            while True:
                if self._shut or len(self._records) >= self._max_messages:
                    break
                if self._records:
                    left = self._opened_at + self._seconds - time.monotonic()
                    if left <= 0:
                        break
                    self._changed.wait(left)
                else:
                    self._changed.wait()
            taken, self._records = self._records, []
            return taken, self._shut and not taken


class SqsWorker:
    """Consumes one SQS queue with a batch processor until stopped (see the module docstring)."""

    def __init__(self, process: BatchProcessor, sqs: Any, options: WorkerOptions) -> None:
        self._process = process
        self._sqs = sqs
        self.options = options
        self.stats = WorkerStats()
        self._stopping = threading.Event()
        self._signals = 0
        self._deliveries = _Deliveries()
        self._window = _Window(options.coalesce_seconds, options.coalesce_max_messages) if options.coalescing else None
        # Set when receiving failed in a way retrying cannot mend (no such queue, access denied):
        # the worker stops, and its caller reports this error.
        self.fatal_error: BaseException | None = None

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop(self) -> None:
        """Stop gracefully: finish the batches in hand, start no new receive."""
        self._stopping.set()

    def run(self) -> WorkerStats:
        """Consume until `stop()`; returns when every consumer thread has finished."""
        log.info(
            "worker started",
            extra={
                "queue_url": self.options.queue_url,
                "concurrency": self.options.concurrency,
                "coalesce_seconds": self.options.coalesce_seconds,
            },
        )
        threads = [
            threading.Thread(target=self._consume, name=f"sqs-consumer-{n}", daemon=True)
            for n in range(self.options.concurrency)
        ]
        applier = None
        if self._window is not None:
            applier = threading.Thread(target=self._apply_windows, args=(self._window,), name="sqs-coalesced")
            applier.daemon = True
            applier.start()
        for thread in threads:
            thread.start()
        _join(threads)
        if applier is not None and self._window is not None:
            self._window.shut()  # what the consumers hold when they stop is applied now
            _join([applier])
        log.info("worker stopped", extra=self.stats.as_dict())
        return self.stats

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT stop the worker gracefully; a second one exits at once (main thread only)."""

        def on_signal(signum: int, frame: FrameType | None) -> None:
            self._signals += 1
            if self._signals > 1:
                log.warning("second signal: exiting without waiting for the batches in hand")
                _exit_now(128 + signum)
            log.info(
                "stopping: finishing the batches in hand, releasing what arrives",
                extra={"signal": signal.Signals(signum).name},
            )
            self.stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    # -- one consumer ------------------------------------------------------------------------

    def _consume(self) -> None:
        while not self._stopping.is_set():
            records = self._claim(self._receive())
            if not records:
                continue
            if self._stopping.is_set():
                self._release(self._deliveries.newest(records))
                self._deliveries.finish(records, acknowledged=())
                return
            if self._window is not None:
                self._window.add(records)
            else:
                self._handle(records)

    def _apply_windows(self, window: _Window) -> None:
        while True:
            records, shut = window.take()
            if shut:
                return
            # The order SQS received them in: the latest message about a resource decides its action.
            self._handle(sorted(records, key=lambda record: record.sent_timestamp or 0))

    def _claim(self, records: list[SqsRecord]) -> list[SqsRecord]:
        """The records this consumer takes; a duplicate delivery is never applied twice.

        SQS delivers at least once: the same message may reach two consumers at once (or again
        after it was applied). A message another consumer holds is left to it; one this worker has
        already acknowledged is deleted again without being applied.
        """
        if not records:
            return records
        claimed, already_done = self._deliveries.claim(records)
        if already_done:
            log.info("deleting duplicate deliveries of applied messages", extra={"messages": len(already_done)})
            self._delete(already_done)
        return claimed

    def _receive(self) -> list[SqsRecord]:
        request: dict[str, Any] = {
            "QueueUrl": self.options.queue_url,
            "MaxNumberOfMessages": self.options.max_messages,
            "WaitTimeSeconds": self.options.wait_seconds,
            "AttributeNames": ["ApproximateReceiveCount", "SentTimestamp"],
        }
        visibility = self.options.receive_visibility()
        if visibility is not None:
            request["VisibilityTimeout"] = visibility
        try:
            response = self._sqs.receive_message(**request)
        except Exception as error:
            self.stats.add(receive_errors=1)
            if is_permanent_queue_error(error):
                log.error(
                    "receiving from the queue failed for good: stopping",
                    extra={"queue_url": self.options.queue_url, "error": str(error)},
                )
                self.fatal_error = error
                self.stop()
                return []
            log.warning("receiving from the queue failed: %s", error, extra={"queue_url": self.options.queue_url})
            self._stopping.wait(_RECEIVE_ERROR_PAUSE_SECONDS)
            return []
        records = [SqsRecord.from_receive(message) for message in response.get("Messages") or []]
        self.stats.add(received=len(records))
        return records

    def _handle(self, records: list[SqsRecord]) -> None:
        started = time.monotonic()
        try:
            outcome = self._process(records)
            results = outcome.results
            if len(results) != len(records):
                raise RuntimeError(f"{len(results)} results for {len(records)} messages")
        except Exception:
            log.exception("processing a batch failed: its messages will come back", extra={"messages": len(records)})
            self._retry_later(self._deliveries.newest(records))
            self._deliveries.finish(records, acknowledged=())
            return
        done = [record for record, result in zip(records, results, strict=True) if result.acknowledged]
        failed = [record for record, result in zip(records, results, strict=True) if not result.acknowledged]
        self._delete(self._deliveries.newest(done))
        self._retry_later(self._deliveries.newest(failed))
        self._deliveries.finish(records, acknowledged=done)
        self.stats.add(batches=1, acknowledged=len(done), failed=len(failed))
        log.info(
            "batch done",
            extra={"messages": len(records), "failed": len(failed), "seconds": round(time.monotonic() - started, 3)},
        )

    def _delete(self, records: Sequence[SqsRecord]) -> None:
        handles = [record.receipt_handle for record in records if record.receipt_handle]
        if not handles:
            return
        try:
            failures = delete_messages(self._sqs, self.options.queue_url, handles)
        except Exception as error:
            failures = [str(error)]
        if failures:
            # They come back and are applied again: the same state, written twice.
            log.warning(
                "deleting applied messages failed: %s", "; ".join(failures[:3]), extra={"failed": len(failures)}
            )

    def _retry_later(self, records: Sequence[SqsRecord]) -> None:
        delays = [
            (record.receipt_handle, self.options.retry_delay(record.receive_count))
            for record in records
            if record.receipt_handle
        ]
        self._change_visibility(delays, "delaying failed messages")

    def _release(self, records: Sequence[SqsRecord]) -> None:
        self.stats.add(released=len(records))
        self._change_visibility([(r.receipt_handle, 0) for r in records if r.receipt_handle], "releasing messages")

    def _change_visibility(self, handles_and_seconds: list[tuple[str, int]], what: str) -> None:
        if not handles_and_seconds:
            return
        try:
            failures = change_visibility(self._sqs, self.options.queue_url, handles_and_seconds)
        except Exception as error:
            failures = [str(error)]
        if failures:
            # Not lost: they return when their current visibility timeout ends.
            log.warning("%s failed: %s", what, "; ".join(failures[:3]), extra={"failed": len(failures)})


def _join(threads: Sequence[threading.Thread]) -> None:
    # Short joins keep the main thread responsive to signals.
    while any(thread.is_alive() for thread in threads):
        for thread in threads:
            thread.join(timeout=0.2)


def _exit_now(status: int) -> None:
    """End the process at once: threads in a read or a Port call (with its retries) are not waited
    for, as an interpreter exit would (pool threads are joined at exit). Logs are flushed first."""
    for handler in logging.getLogger().handlers:
        # Exiting anyway: a closed or broken log stream must not keep the process alive.
        with contextlib.suppress(OSError, ValueError):
            handler.flush()
    os._exit(status)
