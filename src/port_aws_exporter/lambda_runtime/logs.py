"""The logs of one Lambda invocation: JSON lines (`core.logs`) carrying its request id and whether
it is the execution environment's cold start."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from port_aws_exporter.core.logs import cold_start, configure_logging, request_id
from port_aws_exporter.lambda_runtime import settings

_first_invocation = True
_first_lock = threading.Lock()


def _take_cold_start() -> bool:
    """True once per process: Lambda runs one invocation at a time in an execution environment."""
    global _first_invocation
    with _first_lock:
        first, _first_invocation = _first_invocation, False
    return first


@contextlib.contextmanager
def lambda_invocation_logs(context: Any) -> Iterator[bool]:
    """The logs of one Lambda invocation: JSON lines at `$LOG_LEVEL` (default INFO), each carrying
    the invocation's request id (`context.aws_request_id`) and `cold_start`; yields `cold_start`."""
    configure_logging(settings.log_level())
    first = _take_cold_start()
    tokens = (request_id.set(getattr(context, "aws_request_id", None)), cold_start.set(first))
    try:
        yield first
    finally:
        request_id.reset(tokens[0])
        cold_start.reset(tokens[1])
