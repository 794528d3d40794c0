"""The event message: what an EventBridge rule sends to the exporter's queue, parsed and evaluated.

The seed's contract (spec §4.1): a JSON object with `resource_type` (a kind, a plain string) and
three jq programs run over the message itself, first output: `region`, `identifier` and the
optional `action` (absent means `upsert`; its value is compared case-insensitively). For an upsert
the identifier is the Cloud Control identifier; for a delete it is the Port entity identifier.
An extension, optional: `account`, a jq program giving the 12-digit AWS account the resource is in
(absent: the exporter's own account), so that seed-format rules in member accounts route too.

    >>> message = parse_message('{"resource_type": "AWS::SQS::Queue", "region": "\\\\"eu-west-1\\\\"", '
    ...                         '"identifier": ".url | split(\\\\"/\\\\")[-1]", "url": "https://q/1/jobs"}')
    >>> message.resource_type, message.action
    ('AWS::SQS::Queue', None)

The jq programs come from whoever can put a message on the queue, so they run sandboxed and
time-limited in a worker process (`TimeLimitedJq`), all three in one round trip. Every failure here
is a `MessageError`: a permanent problem of the message itself, which retrying cannot fix (the event
path sends such a message to its dead-letter queue with the error's `reason`). The rule tester
calls the same two functions, so a rule that passes `rules test` is read the same way in production.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from port_aws_exporter.core.jq.worker import TimeLimitedJq

__all__ = [
    "ACTIONS",
    "EvaluatedMessage",
    "EventMessage",
    "MessageError",
    "decode_body",
    "evaluate_message",
    "message_from_document",
    "parse_message",
]

Action = Literal["upsert", "delete"]
ACTIONS: tuple[Action, ...] = ("upsert", "delete")
DEFAULT_ACTION: Action = "upsert"
_SHOWN_CHARACTERS = 120
_ACCOUNT_ID = re.compile(r"^\d{12}$")


Problem = Literal["malformed", "jq-failed", "empty", "not-a-string", "bad-action"]


class MessageError(ValueError):
    """A message that can never be processed (malformed, or its jq does not give what it must).

    `reason` is short and names the field and what went wrong, for logs and the dead-letter queue.
    `field` is the jq field at fault (`region`, `identifier`, `action`), None for the message as a
    whole; `problem` classifies it for tools (the rule linter); `timed_out` says the jq evaluation
    was cut off at its time limit.
    """

    def __init__(
        self, reason: str, *, field: str | None = None, problem: Problem = "malformed", timed_out: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.problem: Problem = problem
        self.timed_out = timed_out


@dataclass(frozen=True)
class EventMessage:
    """A parsed message: the kind, its jq programs (`action` and `account` None when absent), and the
    whole message (`body`), which is the input of those programs (`text` is its JSON when it came as
    text)."""

    resource_type: str
    region: str
    identifier: str
    action: str | None
    body: Mapping[str, Any]
    text: str | None = None
    account: str | None = None


@dataclass(frozen=True)
class EvaluatedMessage:
    """What the exporter does for a message: `action` the resource `identifier` of `resource_type`
    in `region` of `account` (None: the exporter's own account)."""

    resource_type: str
    region: str
    action: Action
    identifier: str
    account: str | None = None


def parse_message(body: str | bytes | Mapping[str, Any]) -> EventMessage:
    """Parse and check a message (its JSON text, or the decoded object); raise MessageError."""
    document, text = decode_body(body)
    return message_from_document(document, text)


def decode_body(body: str | bytes | Mapping[str, Any]) -> tuple[Mapping[str, Any], str | None]:
    """The JSON object of a message body, and its text when it came as text; raise MessageError."""
    text: str | None = None
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise MessageError(f"the message is not UTF-8 text: {error.reason} at byte {error.start}") from None
    if isinstance(body, str):
        text = body
        try:
            # A str may hold a lone surrogate (a hand-made record, JSON text decoded leniently):
            # not Unicode text, and nothing downstream (SQS, jq) can carry it.
            body.encode("utf-8")
        except UnicodeEncodeError as error:
            raise MessageError(
                f"the message is not Unicode text: {error.reason} (U+{ord(body[error.start]):04X} at character "
                f"{error.start})"
            ) from None
        try:
            document = json.loads(body, parse_constant=_reject_constant)
        except ValueError as error:
            raise MessageError(f"the message is not valid JSON: {error}") from None
    else:
        document = body
    if not isinstance(document, Mapping):
        raise MessageError(f"the message must be a JSON object, not {_json_type(document)}")
    return document, text


def message_from_document(document: Mapping[str, Any], text: str | None = None) -> EventMessage:
    """Check a decoded seed-format message (`text`: its JSON, when it came as text); raise MessageError."""
    resource_type = document.get("resource_type")
    if not isinstance(resource_type, str) or not resource_type.strip():
        raise MessageError(_field_problem("resource_type", document, "a non-empty string (the kind)"))
    programs = {}
    for field in ("region", "identifier", "action", "account"):
        if field in ("action", "account") and field not in document:
            continue
        program = document.get(field)
        if not isinstance(program, str) or not program.strip():
            raise MessageError(_field_problem(field, document, "a non-empty jq program (a string)"), field=field)
        programs[field] = program
    return EventMessage(
        resource_type=resource_type,
        region=programs["region"],
        identifier=programs["identifier"],
        action=programs.get("action"),
        body=document,
        text=text,
        account=programs.get("account"),
    )


def evaluate_message(
    message: EventMessage, evaluator: TimeLimitedJq, *, timeout_seconds: float | None = None
) -> EvaluatedMessage:
    """Run the message's jq programs over the message (first output each); raise MessageError.

    The region and the identifier must give non-empty strings, the action `upsert` or `delete`
    in any case, the account 12 digits. `timeout_seconds` limits this evaluation (default: the
    evaluator's limit).
    """
    fields = ["region", "identifier"]
    expressions = [message.region, message.identifier]
    for field, program in (("action", message.action), ("account", message.account)):
        if program is not None:
            fields.append(field)
            expressions.append(program)
    if message.text is not None:
        outcomes = evaluator.first_of_each(expressions, value_text=message.text, timeout_seconds=timeout_seconds)
    else:
        outcomes = evaluator.first_of_each(expressions, dict(message.body), timeout_seconds=timeout_seconds)
    unreadable = next((outcome for outcome in outcomes if outcome.input_error), None)
    if unreadable is not None:
        # Python's JSON reader took the text but jq's does not: no program ran, the message is at fault.
        raise MessageError(f"jq cannot read the message: {_cut(str(unreadable.error))}")
    timed_out = next((outcome for outcome in outcomes if outcome.timed_out), None)
    if timed_out is not None:
        # The programs run together, so no one of them can be named.
        raise MessageError(f"{', '.join(fields)}: {timed_out.error}", problem="jq-failed", timed_out=True)
    values: dict[str, Any] = {}
    for field, expression, outcome in zip(fields, expressions, outcomes, strict=False):
        if not outcome.ok:
            reason = f"{field}: jq {_shown(expression)} failed: {_cut(str(outcome.error))}"
            raise MessageError(reason, field=field, problem="jq-failed")
        values[field] = outcome.value
    region = _non_empty_string("region", message.region, values["region"])
    identifier = _non_empty_string("identifier", message.identifier, values["identifier"])
    action: Action = DEFAULT_ACTION
    if message.action is not None:
        action = _action(message.action, values["action"])
    account: str | None = None
    if message.account is not None:
        account = _account(message.account, values["account"])
    return EvaluatedMessage(
        resource_type=message.resource_type, region=region, action=action, identifier=identifier, account=account
    )


def _account(expression: str, value: Any) -> str:
    if isinstance(value, str) and _ACCOUNT_ID.match(value):
        return value
    shown = "nothing (null)" if value is None else _shown(json.dumps(value))
    raise MessageError(f"account: jq {_shown(expression)} gave {shown}, not a 12-digit AWS account id", field="account")


def _non_empty_string(field: str, expression: str, value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value
    got = "nothing (null)" if value is None else f"{_json_type(value)} {_shown(json.dumps(value))}"
    problem: Problem = "empty" if value is None or (isinstance(value, str) and not value.strip()) else "not-a-string"
    raise MessageError(
        f"{field}: jq {_shown(expression)} gave {got}, not a non-empty string", field=field, problem=problem
    )


def _action(expression: str, value: Any) -> Action:
    if isinstance(value, str):
        lowered = value.strip().lower()
        for action in ACTIONS:
            if lowered == action:
                return action
    shown = "nothing (null)" if value is None else _shown(json.dumps(value))
    raise MessageError(
        f"action: jq {_shown(expression)} gave {shown}, not upsert or delete", field="action", problem="bad-action"
    )


def _field_problem(field: str, document: Mapping[str, Any], expected: str) -> str:
    if field not in document:
        return f"the message has no {field!r}: it must be {expected}"
    value = document[field]
    return f"{field!r} must be {expected}, not {_json_type(value)} {_shown(json.dumps(value))}"


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, Mapping) else type(value).__name__


def _shown(text: str) -> str:
    """`text` quoted and cut short, so a reason stays one readable line."""
    return f"`{_cut(text)}`"


def _cut(text: str, limit: int = _SHOWN_CHARACTERS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")
