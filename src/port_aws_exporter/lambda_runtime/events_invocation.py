"""One invocation of the event consumer Lambda: an SQS batch in, a partial batch response out.

The warm state (`lambda_runtime.warm_state.WarmState`) keeps the boto3 clients, the Port client with its token and
the jq worker process; this module adds what a warm consumer also keeps for a while: the loaded
config and its compiled mappings (`CONFIG_CACHE_SECONDS`, default 60: a new config applies within
a minute) and the Port credentials read from Secrets Manager (`CREDENTIALS_CACHE_SECONDS`, default
300). Retry limits come from `EVENTS_NOT_FOUND_ATTEMPTS` and `EVENTS_OVERMATCH_ATTEMPTS` (default 3
each; keep them below the queue's `maxReceiveCount`).

Lambda leaves a failed message invisible for the queue's whole visibility timeout (six times the
function's timeout in our template: minutes), too long for a function that AWS shows a second
after its create. So the consumer sets each failed message's visibility itself, as the worker
does: `EVENTS_RETRY_DELAY_SECONDS` (default 10) doubled on each further delivery, at most
`EVENTS_MAX_RETRY_DELAY_SECONDS` (default 600). If that call fails, the message still comes back,
after the queue's timeout.

The consumer watches the invocation's remaining time (`context.get_remaining_time_in_millis()`):
the batch is given a deadline `EVENTS_TIME_RESERVE_SECONDS` (default 3: time to delay the failed
messages and answer) before the end, and starts no read or Port call later than the Port client's
longest call (its timeout plus its retry budget, and 2 s) before that deadline. Messages not
applied in time fail transiently and come back, instead of the function being killed with the
whole batch. A batch's jq time is bounded as a whole: `EVENTS_BATCH_JQ_SECONDS` (default 4).

When the batch cannot be processed at all (no config, no credentials, a fault of ours), the
invocation fails (`BatchNotProcessed`), so that Lambda's `Errors` metric and alarms see it, and every
message returns to the queue (after its retry delay, as a failed message does) and, if the problem
lasts, reaches the dead-letter queue, from which `port-aws-exporter dlq replay` brings them back
after the fix. Each batch emits its metrics (`lambda_runtime.metrics`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from port_aws_exporter.aws.account_sessions import OrganizationDirectory, RoleSettings
from port_aws_exporter.aws.fetchers import fetcher_for
from port_aws_exporter.aws.identity import resolve_identity
from port_aws_exporter.aws.sqs_queues import change_visibility, queue_by_arn
from port_aws_exporter.core.config import ExporterConfig, load_config
from port_aws_exporter.events.accounts import OrganizationRoutes
from port_aws_exporter.events.batch import (
    DEFAULT_JQ_BATCH_SECONDS,
    DEFAULT_NOT_FOUND_ATTEMPTS,
    DEFAULT_OVERMATCH_ATTEMPTS,
    EventBatch,
    EventOptions,
)
from port_aws_exporter.events.records import (
    DEFAULT_MAX_RETRY_DELAY_SECONDS,
    DEFAULT_RETRY_DELAY_SECONDS,
    SqsRecord,
    retry_delay,
)
from port_aws_exporter.lambda_runtime import settings
from port_aws_exporter.lambda_runtime.logs import lambda_invocation_logs
from port_aws_exporter.lambda_runtime.metrics import (
    PortCallTally,
    emit_batch_failure,
    emit_batch_metrics,
    event_times_of,
)
from port_aws_exporter.lambda_runtime.settings import LambdaEnvironment
from port_aws_exporter.lambda_runtime.warm_state import WarmState
from port_aws_exporter.port import PortClient, PortCredentials

log = logging.getLogger("port_aws_exporter.handler")

DEFAULT_CONFIG_CACHE_SECONDS = 60.0
DEFAULT_CREDENTIALS_CACHE_SECONDS = 300.0
# A Port outage must not hold a batch until the function times out: retry briefly, then let the
# messages come back through the queue.
EVENT_PORT_OPTIONS: dict[str, Any] = {"timeout": 10.0, "retry_budget_seconds": 10.0}
# Kept free at the end of an invocation: delaying the failed messages' retries, and answering.
DEFAULT_TIME_RESERVE_SECONDS = 3.0
# Added to the Port client's longest call (timeout + retry budget): a 401's renewed send, slack.
_CALL_SLACK_SECONDS = 2.0


class BatchNotProcessed(RuntimeError):
    """No message of the batch could be processed: the invocation fails, and Lambda counts an error."""


@dataclass
class _Cached:
    value: Any
    key: Any
    loaded_at: float

    def fresh(self, key: Any, ttl_seconds: float) -> bool:
        return self.key == key and time.monotonic() - self.loaded_at < ttl_seconds


class EventsInvocation:
    """The event consumer's handler: `(event, context) -> {"batchItemFailures": [...]}`.

    `port_options` are the Port client's options (tests shorten its retries).
    """

    def __init__(self, warm: WarmState, port_options: Mapping[str, Any] | None = None) -> None:
        self._warm = warm
        self._port_options = dict(EVENT_PORT_OPTIONS if port_options is None else port_options)
        self._lock = threading.Lock()
        self._config: _Cached | None = None
        self._credentials: _Cached | None = None
        self._batch: _Cached | None = None

    def __call__(self, event: Mapping[str, Any] | None, context: Any) -> dict[str, Any]:
        with lambda_invocation_logs(context) as cold_start:
            raw = event.get("Records") if isinstance(event, Mapping) else None
            records = [SqsRecord.from_lambda(record) for record in raw or []]
            return self._run(records, event_times_of(raw), context, cold_start)

    def _run(
        self, records: list[SqsRecord], event_times: dict[str, float], context: Any, cold_start: bool
    ) -> dict[str, Any]:
        if not records:
            return {"batchItemFailures": []}
        try:
            response = self._process(records, event_times, context, cold_start)
        except BatchNotProcessed:
            self._delay_retries(records)
            raise
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        self._delay_retries([record for record in records if record.message_id in failed])
        return response

    def _process(
        self, records: list[SqsRecord], event_times: dict[str, float], context: Any, cold_start: bool
    ) -> dict[str, Any]:
        started = time.monotonic()
        try:
            batch, port = self._prepare(context)
            deadline = self._deadline(context)
        except Exception as error:
            # Not the messages' fault: all of them come back, and the reason is logged once.
            log.error(
                "cannot process the batch: %s",
                error,
                extra={"messages": len(records), "message_ids": [record.message_id for record in records]},
            )
            emit_batch_failure(len(records), None, cold_start=cold_start)
            raise BatchNotProcessed(f"cannot process the batch of {len(records)} messages: {error}") from error
        auth_calls = port.counters.auth_calls
        tally = PortCallTally.of(port.counters)
        try:
            outcome = batch.process(records, deadline=deadline)
        except Exception as error:
            # A fault of ours that escaped the per-message handling: the whole batch comes back.
            log.exception("processing the batch failed", extra={"messages": len(records)})
            emit_batch_failure(len(records), tally, cold_start=cold_start)
            raise BatchNotProcessed(f"processing the batch of {len(records)} messages failed: {error}") from error
        emit_batch_metrics(outcome, event_times, tally, written_at=time.time(), cold_start=cold_start)
        log.info(
            "batch done",
            extra={
                "messages": len(records),
                "failed": len(outcome.failed),
                "seconds": round(time.monotonic() - started, 3),
                "port_auth_calls": port.counters.auth_calls - auth_calls,
            },
        )
        return outcome.batch_item_failures()

    @staticmethod
    def _deadline(context: Any) -> float | None:
        """When the batch must have answered: the invocation's end, less the time reserve (None
        when the context does not tell the remaining time, as outside Lambda)."""
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if not callable(remaining):
            return None
        reserve = settings.float_setting("EVENTS_TIME_RESERVE_SECONDS", DEFAULT_TIME_RESERVE_SECONDS)
        return time.monotonic() + float(remaining()) / 1000.0 - reserve

    def _delay_retries(self, records: list[SqsRecord]) -> None:
        """Make failed messages visible again after their backoff rather than the queue's timeout."""
        if not records:
            return
        try:
            base = settings.int_setting("EVENTS_RETRY_DELAY_SECONDS", DEFAULT_RETRY_DELAY_SECONDS)
            maximum = settings.int_setting("EVENTS_MAX_RETRY_DELAY_SECONDS", DEFAULT_MAX_RETRY_DELAY_SECONDS)
            if not 0 <= base <= maximum:
                raise ValueError(
                    f"EVENTS_RETRY_DELAY_SECONDS ({base}) must be 0 to EVENTS_MAX_RETRY_DELAY_SECONDS ({maximum})"
                )
        except ValueError as error:
            log.error("failed messages keep the queue's visibility timeout: %s", error)
            return
        by_queue: dict[str, list[tuple[str, int]]] = {}
        for record in records:
            if record.receipt_handle and record.queue_arn:
                delay = retry_delay(record.receive_count, base, maximum)
                by_queue.setdefault(record.queue_arn, []).append((record.receipt_handle, delay))
        for queue_arn, handles_and_delays in by_queue.items():
            try:
                sqs, queue_url = queue_by_arn(self._warm.clients(), queue_arn)
                failures = change_visibility(sqs, queue_url, handles_and_delays)
            except Exception as error:
                failures = [str(error)]
            if failures:
                log.warning(
                    "delaying failed messages failed, they return after the queue's visibility timeout: %s",
                    "; ".join(failures[:3]),
                    extra={"failed": len(failures), "queue_arn": queue_arn},
                )

    def _prepare(self, context: Any) -> tuple[EventBatch, PortClient]:
        environment = settings.lambda_environment()
        clients = self._warm.clients()
        caller = resolve_identity(clients.session, context)
        installation = caller.installation
        credentials = self._cached_credentials(environment, installation.region)
        port = self._warm.port_client(credentials, installation, **self._port_options)
        config = self._cached_config(environment, installation.region)
        options = EventOptions(
            not_found_attempts=settings.int_setting("EVENTS_NOT_FOUND_ATTEMPTS", DEFAULT_NOT_FOUND_ATTEMPTS),
            overmatch_attempts=settings.int_setting("EVENTS_OVERMATCH_ATTEMPTS", DEFAULT_OVERMATCH_ATTEMPTS),
            jq_batch_seconds=settings.float_setting("EVENTS_BATCH_JQ_SECONDS", DEFAULT_JQ_BATCH_SECONDS),
            call_reserve_seconds=self._longest_port_call(),
        )
        with self._lock:
            key = (id(config), id(port), options)
            if self._batch is None or self._batch.key != key:
                routes = None
                if config.accounts is not None:
                    sessions = self._warm.account_sessions(caller, RoleSettings.of(config.accounts))
                    routes = OrganizationRoutes(config.accounts, OrganizationDirectory(sessions), port.for_installation)
                batch = EventBatch(
                    config,
                    lambda spec: fetcher_for(spec, clients, installation.account_id),
                    port,
                    self._warm.evaluator(),
                    options,
                    owned_entities_query=installation.owned_entities_query,
                    home_account=installation.account_id,
                    routes=routes,
                )
                self._batch = _Cached(batch, key, time.monotonic())
            cached: EventBatch = self._batch.value
        return cached, port

    def _longest_port_call(self) -> float:
        """How long one Port call of this consumer's client may take, at most (and some slack)."""
        timeout = float(self._port_options.get("timeout", EVENT_PORT_OPTIONS["timeout"]))
        budget = float(self._port_options.get("retry_budget_seconds", EVENT_PORT_OPTIONS["retry_budget_seconds"]))
        return timeout + budget + _CALL_SLACK_SECONDS

    def _cached_config(self, environment: LambdaEnvironment, region: str) -> ExporterConfig:
        ttl = settings.float_setting("CONFIG_CACHE_SECONDS", DEFAULT_CONFIG_CACHE_SECONDS)
        with self._lock:
            if self._config is not None and self._config.fresh(environment.config_source, ttl):
                config: ExporterConfig = self._config.value
                return config
        # An S3 client only for a config in S3: making one loads S3's service model, tens of
        # milliseconds of a cold start's CPU, for nothing when the config is a file.
        on_s3 = environment.config_source.startswith("s3://")
        s3 = self._warm.clients().client("s3", region) if on_s3 else None
        config = load_config(environment.config_source, s3_client=s3)
        with self._lock:
            self._config = _Cached(config, environment.config_source, time.monotonic())
        return config

    def _cached_credentials(self, environment: LambdaEnvironment, region: str) -> PortCredentials:
        ttl = settings.float_setting("CREDENTIALS_CACHE_SECONDS", DEFAULT_CREDENTIALS_CACHE_SECONDS)
        key = (
            environment.secret_arn,
            environment.environ.get("PORT_CLIENT_ID"),
            environment.environ.get("PORT_API_URL"),
        )
        with self._lock:
            if self._credentials is not None and self._credentials.fresh(key, ttl):
                credentials: PortCredentials = self._credentials.value
                return credentials
        credentials = environment.port_credentials({}, self._warm.clients(), region)
        with self._lock:
            self._credentials = _Cached(credentials, key, time.monotonic())
        return credentials

    def forget(self) -> None:
        """Drop the cached config, credentials and batch (tests; a changed environment)."""
        with self._lock:
            self._config = self._credentials = self._batch = None
