"""Structured logs: one JSON object per line, with the Lambda request id when there is one.

Every line has `time` (ISO-8601 in UTC, `2026-01-02T03:04:05.678901+00:00`), `level`, `logger` and
`message`; in Lambda also `aws_request_id` and `cold_start` (the execution environment's first
invocation).

CloudWatch Logs Insights and every log pipeline parse JSON lines; fields passed with `extra=`
(`kind`, `region`, `identifier`, `message_id`, …) become queryable keys. The CLI keeps human
output on the console and logs JSON to stderr only when asked (`--log-json`) or at warning level.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from typing import Any

from pythonjsonlogger.json import JsonFormatter

# Set by the Lambda handlers for the duration of an invocation.
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
cold_start: contextvars.ContextVar[bool | None] = contextvars.ContextVar("cold_start", default=None)

_HANDLER_NAME = "port-aws-exporter-json"


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        current = request_id.get()
        if current is not None:
            record.aws_request_id = current
        first = cold_start.get()
        if first is not None:
            record.cold_start = first
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
    handler.addFilter(_RequestIdFilter())
    logger.addHandler(handler)
