"""Structured logs: one JSON object per line, with the Lambda request id when there is one.

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

_HANDLER_NAME = "port-aws-exporter-json"


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        current = request_id.get()
        if current is not None:
            record.aws_request_id = current
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
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "asctime": "time", "name": "logger"},
        )
    )
    handler.addFilter(_RequestIdFilter())
    logger.addHandler(handler)
