"""The CLI's one answer to an error no command handled: `error: …` on stderr, exit 1, no traceback.

Every command runs inside `main`'s handler (`LazyGroup.invoke`): AWS (botocore), Port, the network,
files, SQLite and JSON errors become one line saying what failed, on what, and what to do;
`--debug` (or `PORT_AWS_EXPORTER_DEBUG=1`) lets the traceback through instead. An error this module
does not know is still one line, naming its type and asking for `--debug`: a user never gets a
traceback by accident, and a bug is still reported with what it said.

    >>> describe_error(FileNotFoundError(2, "No such file or directory", "config.json"))
    'cannot open config.json: No such file or directory'
"""

from __future__ import annotations

import errno
import json
import sqlite3
from typing import Any

DEBUG_ENV = "PORT_AWS_EXPORTER_DEBUG"
DEBUG_HINT = "run with --debug for the traceback"

# SQS's codes for a queue that is not there (the JSON protocol's and the query protocol's).
MISSING_QUEUE_CODES = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})
_CREDENTIAL_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
    }
)
_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})


def describe_error(error: BaseException) -> str:
    """One line (sometimes two) a user can act on, for any exception; never a secret."""
    for describe in (_describe_aws, _describe_port, _describe_http, _describe_data, _describe_os):
        text = describe(error)
        if text is not None:
            return text
    return f"unexpected {type(error).__name__}: {error} ({DEBUG_HINT}, and please report it)"


def _describe_aws(error: BaseException) -> str | None:
    if not type(error).__module__.startswith("botocore"):
        return None
    # Imported here: botocore costs a noticeable start-up time, and only AWS errors need it.
    from botocore import exceptions as aws

    if isinstance(error, aws.NoCredentialsError | aws.PartialCredentialsError):
        return (
            f"no AWS credentials found ({error}): set AWS_PROFILE (after `aws sso login` or `aws configure`), "
            "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    if isinstance(error, aws.NoRegionError):
        return "no AWS region configured: pass --region where the command has it, or set AWS_REGION"
    if isinstance(error, aws.EndpointConnectionError | aws.ConnectTimeoutError | aws.ReadTimeoutError):
        endpoint = getattr(error, "kwargs", {}).get("endpoint_url", "")
        return (
            f"cannot reach AWS at {endpoint or 'its endpoint'}: {error}\n"
            "Check the network (or AWS_ENDPOINT_URL, if you set it for a local endpoint) and try again."
        )
    if isinstance(error, aws.ClientError):
        return _describe_client_error(error)
    if isinstance(error, aws.ProfileNotFound):
        return f"{error}: check AWS_PROFILE and ~/.aws/config"
    return f"AWS: {error}"


def _describe_client_error(error: Any) -> str:
    details = error.response.get("Error", {})
    code = str(details.get("Code", "Unknown"))
    message = str(details.get("Message", "")) or str(error)
    operation = getattr(error, "operation_name", "a call")
    text = f"AWS {operation} failed: {code}: {message}"
    if code in MISSING_QUEUE_CODES:
        return f"{text}\nThe queue does not exist in this account and region: check the queue URL."
    if code in _CREDENTIAL_CODES:
        return f"{text}\nThe AWS credentials are not valid (or have expired): renew them and try again."
    if code in _DENIED_CODES:
        return f"{text}\nThe caller lacks a permission: `port-aws-exporter iam-policy` prints the policy it needs."
    return text


def _describe_port(error: BaseException) -> str | None:
    # Port's client is imported here: most commands never talk to Port.
    from port_aws_exporter.port.errors import PortApiError, PortAuthError

    if isinstance(error, PortAuthError):
        return f"{error}\nPort refused the credentials: check PORT_CLIENT_ID, PORT_CLIENT_SECRET and PORT_API_URL."
    if isinstance(error, PortApiError):
        if error.status is None:
            return f"{error}\nCannot reach Port: check the network and PORT_API_URL."
        return str(error)
    return None


def _describe_http(error: BaseException) -> str | None:
    if not type(error).__module__.startswith("httpx"):
        return None
    import httpx

    if isinstance(error, httpx.TransportError):
        try:
            url = str(error.request.url)
        except RuntimeError:  # an error raised before any request was made
            url = "the server"
        return f"cannot reach {url}: {type(error).__name__}: {error}"
    return f"HTTP: {error}"


def _describe_data(error: BaseException) -> str | None:
    if isinstance(error, json.JSONDecodeError):
        return f"not JSON: {error}"
    if isinstance(error, UnicodeDecodeError):
        return f"a file is not UTF-8 text ({error.reason} at byte {error.start}): save it as UTF-8"
    if isinstance(error, sqlite3.DatabaseError):
        return f"SQLite: {error} (is the file a catalog database, and not in use by another process?)"
    return None


def _describe_os(error: BaseException) -> str | None:
    if not isinstance(error, OSError):
        return None
    if error.errno == errno.EADDRINUSE or "Address already in use" in str(error):
        return f"{error}\nThe port is in use (another server still running?): choose another with --port."
    if error.filename is not None and error.strerror:
        return f"cannot open {error.filename}: {error.strerror}"
    return str(error)
