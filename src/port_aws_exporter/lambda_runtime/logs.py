"""The logs of one Lambda invocation: JSON lines (`core.logs`) carrying its request id and whether
it is the execution environment's cold start."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from port_aws_exporter.core.logs import configure_logging, invocation_fields
from port_aws_exporter.lambda_runtime import settings

_invoked = threading.Event()


def _take_cold_start() -> bool:
    """True once per process: the execution environment's first invocation."""
    first = not _invoked.is_set()
    _invoked.set()
    return first


@contextlib.contextmanager
def lambda_invocation_logs(context: Any) -> Iterator[bool]:
    """The logs of one Lambda invocation: JSON lines at `$LOG_LEVEL` (default INFO), each carrying
    the invocation's request id (`context.aws_request_id`) and `cold_start`; yields `cold_start`."""
    configure_logging(settings.log_level())
    first = _take_cold_start()
    with invocation_fields({"aws_request_id": getattr(context, "aws_request_id", None), "cold_start": first}):
        yield first
