"""Accounts in the local AWS as AWS has them: `sts:AssumeRole` decided by the role and its trust
policy, and EC2 `DescribeRegions` answered per account and partition.

moto lets any caller assume any role ARN, even one that does not exist, and answers
`DescribeRegions` with every region of every partition, opt-in or not, whatever `AllRegions` says.
A multi-account exporter tested on that would never see what a real organisation shows it, so the
local endpoint answers these two calls before moto does:

- **AssumeRole**: refused with `AccessDenied` (AWS's text) unless the role exists in the target
  account and its trust policy allows the caller's account (`Principal.AWS`: the account id, its
  root ARN, an ARN of the caller's account, or `*`) and, when it has one, the `sts:ExternalId`
  condition (`StringEquals`/`StringLike`) matches. Other condition keys or operators are refused
  with a message that says the local STS does not evaluate them. Every call is recorded.
- **Opt-in regions**: a call signed for an opt-in region the caller's account has not enabled
  (`RegionOptIns.enable`) is refused as AWS refuses it (`UnrecognizedClientException`,
  `InvalidClientTokenId` or `AuthFailure`: the token is not valid there). Which regions are opt-in
  is moto's list, which calls a few of AWS's opt-in regions (af-south-1, eu-south-1…) default ones.
- **DescribeRegions**: the regions of the caller's partition only; without `AllRegions` only
  those enabled in the caller's account (AWS's default set, plus the opt-in regions enabled with
  `RegionOptIns.enable`); `RegionName.N` and the `region-name` / `opt-in-status` filters apply.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import threading
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote
from xml.sax.saxutils import escape

from port_aws_exporter.core.partitions import partition_of_region
from port_aws_exporter.local.aws.aws_request import EC2, QUERY, AwsRequest
from port_aws_exporter.local.aws.error_responses import error_response
from port_aws_exporter.local.aws.http_response import HttpResponse

EC2_XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/"
_ENABLED = frozenset({"opt-in-not-required", "opted-in"})


def _form(request: AwsRequest) -> dict[str, str]:
    values = parse_qs(request.query_string)
    if "x-www-form-urlencoded" in request.header("Content-Type"):
        values.update(parse_qs(request.body.decode("utf-8", errors="replace")))
    return {key: items[0] for key, items in values.items()}


@dataclass(frozen=True)
class AssumeRoleCall:
    """One AssumeRole the local STS answered."""

    caller_account: str
    role_arn: str
    external_id: str | None
    allowed: bool
    reason: str = ""


class LocalSts:
    """Decides AssumeRole as AWS does (see the module docstring); a guard of the middleware."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[AssumeRoleCall] = []

    @property
    def calls(self) -> list[AssumeRoleCall]:
        """Every AssumeRole answered so far, oldest first."""
        with self._lock:
            return list(self._calls)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()

    def __call__(self, request: AwsRequest) -> HttpResponse | None:
        if request.signing_service != "sts" or request.operation != "AssumeRole":
            return None
        form = _form(request)
        role_arn = form.get("RoleArn", "")
        external_id = form.get("ExternalId")
        caller = request.account_id
        reason = self._refusal(caller, role_arn, external_id)
        with self._lock:
            self._calls.append(AssumeRoleCall(caller, role_arn, external_id, reason is None, reason or ""))
        if reason is None:
            return None  # moto issues the credentials
        message = (
            f"User: {_caller_arn(request, caller)} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
        )
        return error_response(QUERY, "AccessDenied", message, status=403)

    @staticmethod
    def _refusal(caller: str, role_arn: str, external_id: str | None) -> str | None:
        """Why AWS would refuse, or None."""
        parts = role_arn.split(":")
        if len(parts) != 6 or not parts[5].startswith("role/"):
            return f"{role_arn!r} is not a role ARN"
        account, role_name = parts[4], parts[5].rpartition("/")[2]
        role = _role(account, parts[1], role_name)
        if role is None:
            return f"no role {role_name} in account {account}"
        policy = role.assume_role_policy_document
        document = json.loads(unquote(policy)) if isinstance(policy, str) else policy
        for statement in _statements(document):
            if statement.get("Effect") != "Allow" or not _names_assume_role(statement.get("Action")):
                continue
            if not _principal_allows(statement.get("Principal"), caller):
                continue
            condition = _condition_refusal(statement.get("Condition") or {}, external_id)
            if condition is None:
                return None
            return condition
        return f"the trust policy of {role_name} does not allow account {caller}"


def _role(account: str, partition: str, name: str) -> Any:
    from moto.iam.models import iam_backends

    backend = iam_backends[account][partition]
    for role in backend.roles.values():
        if role.name == name:
            return role
    return None


def _caller_arn(request: AwsRequest, account: str) -> str:
    return f"arn:{partition_of_region(request.region).name}:iam::{account}:user/local"


def _statements(document: Any) -> list[dict[str, Any]]:
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    return [s for s in (statements if isinstance(statements, list) else [statements]) if isinstance(s, dict)]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def _names_assume_role(action: Any) -> bool:
    return any(fnmatch.fnmatchcase("sts:AssumeRole", str(item)) for item in _as_list(action))


def _principal_allows(principal: Any, caller: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for value in _as_list(principal.get("AWS")):
        text = str(value)
        if text in ("*", caller) or (text.startswith("arn:") and text.split(":")[4:5] == [caller]):
            return True
    return False


def _condition_refusal(condition: dict[str, Any], external_id: str | None) -> str | None:
    for operator, checks in condition.items():
        for key, expected in (checks or {}).items():
            if key.lower() != "sts:externalid" or operator not in ("StringEquals", "StringLike"):
                return f"the local STS does not evaluate the condition {operator} {key}"
            values = [str(value) for value in _as_list(expected)]
            matches = (
                external_id in values
                if operator == "StringEquals"
                else any(external_id is not None and fnmatch.fnmatchcase(external_id, value) for value in values)
            )
            if not matches:
                return "the external id does not match the role's trust policy"
    return None


class RegionOptIns:
    """Which opt-in regions each account has enabled (AWS's default set is always enabled)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._opted_in: dict[str, set[str]] = {}
        self._disabled: dict[str, set[str]] = {}

    def enable(self, account_id: str, *regions: str) -> None:
        """Enable opt-in regions in an account (as the Account API's EnableRegion does)."""
        with self._lock:
            self._opted_in.setdefault(account_id, set()).update(regions)
            self._disabled.setdefault(account_id, set()).difference_update(regions)

    def disable(self, account_id: str, *regions: str) -> None:
        """Disable regions in an account (opt-in ones; default ones too, to test what AWS cannot)."""
        with self._lock:
            self._disabled.setdefault(account_id, set()).update(regions)
            self._opted_in.setdefault(account_id, set()).difference_update(regions)

    def clear(self) -> None:
        with self._lock:
            self._opted_in.clear()
            self._disabled.clear()

    def status(self, account_id: str, region: str, default: str) -> str:
        with self._lock:
            if region in self._disabled.get(account_id, ()):
                return "not-opted-in"
            if region in self._opted_in.get(account_id, ()):
                return "opted-in"
        return default

    def _enabled(self, request: AwsRequest) -> bool:
        return self.status(request.account_id, request.region, "not-opted-in") in _ENABLED

    def __call__(self, request: AwsRequest) -> HttpResponse | None:
        """Refuse a call in a region the caller's account has not enabled, as AWS does; answer EC2
        `DescribeRegions` for the caller's account and partition."""
        if request.signing_service and _opt_in(request.region) and not self._enabled(request):
            code = _DISABLED_REGION_CODES.get(request.protocol, "UnrecognizedClientException")
            return error_response(
                request.protocol, code, "The security token included in the request is invalid.", status=403
            )
        if request.signing_service != "ec2" or request.operation != "DescribeRegions":
            return None
        form = _form(request)
        all_regions = form.get("AllRegions", "false").lower() == "true"
        names = {value for key, value in form.items() if key.startswith("RegionName.")}
        filters = _filters(form)
        unknown = set(filters) - {"region-name", "opt-in-status"}
        if unknown:
            return error_response(EC2, "InvalidParameterValue", f"The filter '{sorted(unknown)[0]}' is invalid")
        items = []
        for name, default in _partition_regions(request.region):
            status = self.status(request.account_id, name, default)
            if not all_regions and not names and status not in _ENABLED:
                continue
            if names and name not in names:
                continue
            if not (_passes(name, filters.get("region-name")) and _passes(status, filters.get("opt-in-status"))):
                continue
            items.append((name, status))
        return _describe_regions_response(items)


def _passes(value: str, patterns: list[str] | None) -> bool:
    return patterns is None or any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)


# What AWS answers a call signed for a region the account has not enabled, per wire protocol.
_DISABLED_REGION_CODES = {QUERY: "InvalidClientTokenId", EC2: "AuthFailure"}


def _opt_in(region: str) -> bool:
    """Whether `region` is one an account must enable before using it."""
    return _default_statuses().get(region) == "not-opted-in"


@functools.cache
def _default_statuses() -> dict[str, str]:
    from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend

    return {item.name: item.opt_in_status for item in RegionsAndZonesBackend.regions}


def _filters(form: dict[str, str]) -> dict[str, list[str]]:
    filters: dict[str, list[str]] = {}
    for key, value in form.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "Filter" and parts[2] == "Name":
            values = [v for k, v in form.items() if k.startswith(f"Filter.{parts[1]}.Value.")]
            filters[value] = values
    return filters


def _partition_regions(region: str) -> list[tuple[str, str]]:
    """(name, default opt-in status) of the EC2 regions of `region`'s partition."""
    from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend

    partition = partition_of_region(region)
    return [
        (item.name, item.opt_in_status) for item in RegionsAndZonesBackend.regions if partition.owns_region(item.name)
    ]


def _describe_regions_response(items: list[tuple[str, str]]) -> HttpResponse:
    rows = "".join(
        f"<item><regionName>{escape(name)}</regionName><regionEndpoint>ec2.{escape(name)}.amazonaws.com"
        f"</regionEndpoint><optInStatus>{escape(status)}</optInStatus></item>"
        for name, status in items
    )
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><DescribeRegionsResponse xmlns="{EC2_XMLNS}">'
        f"<requestId>{uuid.uuid4()}</requestId><regionInfo>{rows}</regionInfo></DescribeRegionsResponse>"
    )
    return HttpResponse(200, body.encode(), [("Content-Type", "text/xml;charset=UTF-8")])
