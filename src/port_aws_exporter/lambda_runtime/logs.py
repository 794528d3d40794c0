"""The logs of one Lambda invocation: JSON lines (`core.logs`) carrying its request id."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from port_aws_exporter.core.logs import configure_logging, request_id
from port_aws_exporter.lambda_runtime import settings


@contextlib.contextmanager
def lambda_invocation_logs(context: Any) -> Iterator[None]:
    """The logs of one Lambda invocation: JSON lines at `$LOG_LEVEL` (default INFO), each carrying
    the invocation's request id (`context.aws_request_id`)."""
    configure_logging(settings.log_level())
    token = request_id.set(getattr(context, "aws_request_id", None))
    try:
        yield
    finally:
        request_id.reset(token)
