"""botocore failures translated into `core.fetching.FetchError`, classified so callers can decide what to do.

The full sync reports an error with its kind, region and identifier and skips stale deletion; the
event path retries transient errors through SQS and dead-letters permanent ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from port_aws_exporter.core.fetching import FetchError, FetchErrorKind

Result = TypeVar("Result")

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "SlowDown",
        "RequestThrottled",
        "PriorRequestNotComplete",
    }
)
ACCESS_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "AuthFailure",
        "OptInRequired",
        "ExpiredToken",
        "ExpiredTokenException",
    }
)
UNSUPPORTED_CODES = frozenset({"TypeNotFoundException", "UnsupportedActionException"})


def error_code(error: ClientError) -> str:
    """The AWS error code of a refused call (`ResourceNotFoundException`…), or "" when it has none."""
    code: str = error.response.get("Error", {}).get("Code", "")
    return code


def classify(error: Exception) -> FetchErrorKind:
    """The kind of a botocore failure."""
    if isinstance(error, ClientError):
        code = error_code(error)
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in THROTTLING_CODES:
            return FetchErrorKind.THROTTLED
        if code in ACCESS_CODES:
            return FetchErrorKind.ACCESS_DENIED
        if code in UNSUPPORTED_CODES:
            return FetchErrorKind.UNSUPPORTED
        if status >= 500:
            return FetchErrorKind.SERVICE_ERROR
        return FetchErrorKind.INVALID_REQUEST
    if isinstance(error, BotoCoreError):
        return FetchErrorKind.CONNECTION
    return FetchErrorKind.SERVICE_ERROR


def describe(error: Exception) -> str:
    """A one-line description of a botocore failure (code and message), without request details."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'Error')}: {details.get('Message', '')}".strip().rstrip(":")
    return f"{type(error).__name__}: {error}"


def fetch_error(kind: str, region: str, error: Exception, identifier: str | None = None) -> FetchError:
    """A FetchError for a botocore failure while reading `kind` in `region`."""
    return FetchError(kind, region, describe(error), error_kind=classify(error), identifier=identifier)


@contextmanager
def translated_errors(kind: str, region: str, identifier: str | None = None) -> Iterator[None]:
    """botocore failures inside the block → FetchError naming the kind, region and resource."""
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise fetch_error(kind, region, error, identifier) from error


def none_if_not_found(
    kind: str,
    region: str,
    identifier: str,
    is_not_found: Callable[[ClientError], bool],
    operation: Callable[[], Result],
) -> Result | None:
    """`operation()`, or None when AWS answers that the resource does not exist (`is_not_found`);
    any other botocore failure raises FetchError."""
    with translated_errors(kind, region, identifier):
        try:
            return operation()
        except ClientError as error:
            if is_not_found(error):
                return None
            raise
