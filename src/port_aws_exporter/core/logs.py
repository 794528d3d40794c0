"""Structured logs: one JSON object per line, with the Lambda request id when there is one.

Every line has `time` (ISO-8601 in UTC, `2026-01-02T03:04:05.678901+00:00`), `level`, `logger` and
`message`; in Lambda also `aws_request_id` and `cold_start` (the execution environment's first
invocation).

CloudWatch Logs Insights and every log pipeline parse JSON lines; fields passed with `extra=`
(`kind`, `region`, `identifier`, `message_id`, …) become queryable keys. The CLI keeps human
output on the console and logs JSON to stderr only when asked (`--log-json`) or at warning level.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from pythonjsonlogger.json import JsonFormatter

# Set by the Lambda handlers for the duration of an invocation (`invocation_fields`).
_invocation: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar("invocation", default=None)


# The same, for the threads an invocation starts (a context variable does not reach them). Lambda
# runs one invocation at a time in a process, so the process-wide value is the right one there.
class _ProcessInvocation:
    fields: Mapping[str, Any] | None = None


_HANDLER_NAME = "port-aws-exporter-json"


@contextlib.contextmanager
def invocation_fields(fields: Mapping[str, Any]) -> Iterator[None]:
    """Add `fields` (the request id, cold start) to every log line written until the block ends,
    by this thread and by the threads it starts."""
    token = _invocation.set(dict(fields))
    previous, _ProcessInvocation.fields = _ProcessInvocation.fields, dict(fields)
    try:
        yield
    finally:
        _invocation.reset(token)
        _ProcessInvocation.fields = previous


class _InvocationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        fields = _invocation.get() or _ProcessInvocation.fields
        for name, value in (fields or {}).items():
            if value is not None:
                setattr(record, name, value)
        return True


def configure_logging(level: str | int = "INFO", *, stream: Any = None) -> None:
    """Send the exporter's logs as JSON lines to `stream` (stderr by default); idempotent."""
    logger = logging.getLogger("port_aws_exporter")
    logger.setLevel(level)
    logger.propagate = False
    for handler in logger.handlers:
        if handler.get_name() == _HANDLER_NAME:
            logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(
        JsonFormatter(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            # The record's creation time as an aware UTC datetime, written in ISO-8601 (logging's
            # own asctime is local time with a comma before the milliseconds).
            timestamp="time",
        )
    )
    handler.addFilter(_InvocationFilter())
    logger.addHandler(handler)
