"""ListResources paging: opaque NextTokens that survive deletions between pages."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass

from port_aws_exporter.local.aws.cloudcontrol.errors import invalid_request

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 100
# Where the service's own list call pages smaller, Cloud Control's pages follow it.
DEFAULT_PAGE_SIZES = {"AWS::Lambda::Function": 50}


@dataclass(frozen=True)
class Page:
    """One page of identifiers and the token for the next one (None on the last page)."""

    identifiers: list[str]
    next_token: str | None


def page_size(type_name: str, max_results: int | None) -> int:
    """The page size for a call: `MaxResults` when given (1..100), else the type's usual page size."""
    if max_results is None:
        return DEFAULT_PAGE_SIZES.get(type_name, DEFAULT_PAGE_SIZE)
    if not 1 <= max_results <= MAX_PAGE_SIZE:
        raise invalid_request(f"MaxResults must be between 1 and {MAX_PAGE_SIZE}, got {max_results}")
    return max_results


def _encode(offset: int, last: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "k": last}).encode()).decode()


def _decode(token: str) -> tuple[int, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["o"]), str(data["k"])
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise invalid_request("The NextToken is invalid or has expired") from error


def paginate(identifiers: Sequence[str], next_token: str | None, size: int) -> Page:
    """The page after `next_token` (the first page without one).

    The token remembers the last identifier served and its position: when resources were deleted
    meanwhile, paging resumes right after that identifier instead of skipping any.
    """
    start = 0
    if next_token:
        offset, last = _decode(next_token)
        if 0 < offset <= len(identifiers) and identifiers[offset - 1] == last:
            start = offset
        else:
            try:
                start = identifiers.index(last) + 1
            except ValueError:
                start = min(offset, len(identifiers))
    page = list(identifiers[start : start + size])
    end = start + len(page)
    token = _encode(end, page[-1]) if page and end < len(identifiers) else None
    return Page(page, token)
