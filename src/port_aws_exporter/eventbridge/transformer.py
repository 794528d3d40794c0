"""EventBridge InputTransformer: validation at PutTargets and rendering of what a target receives.

This is the project's one renderer; the local AWS endpoint uses it in place of moto's. It works
on plain dicts and strings. The behaviour follows `eventbridge-semantics.md` §A3 and every vector
of `input-transformer-vectors.json`:

- A template whose first non-blank character is `{` is a JSON template; anything else is a
  string template (usually one quoted JSON string, possibly several quoted lines).
- A placeholder outside double quotes is a JSON value: strings are quoted and escaped, numbers,
  booleans, objects and lists are JSON, a path that finds nothing gives `""`, null gives `null`.
- A placeholder inside a JSON string is inserted raw, unescaped: strings as they are, numbers and
  booleans as JSON text, nothing (or null) as empty. Objects and lists are compact JSON; in a string
  template with every `"` removed (`{a:1}`), in a JSON template as is, which breaks the JSON.
- A JSON template that renders invalid is not delivered (a failed invocation, not an API error).

Two points AWS has not been observed on and are therefore our choice: a placeholder outside quotes
in a string template is rendered as a JSON value too, and a path reaching a JSON null renders as
`null` outside quotes and as nothing inside them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from port_aws_exporter.eventbridge._input_path import MISSING, InputPath, InputPathSyntaxError, parse_input_path
from port_aws_exporter.eventbridge.json_text import loads_strict, utc_timestamp

__all__ = [
    "MAX_INPUT_PATHS",
    "MAX_TEMPLATE_LENGTH",
    "PREDEFINED_VARIABLES",
    "CompiledInputTransformer",
    "InputTransformerError",
    "Placeholder",
    "RenderedInput",
    "build_rule_arn",
    "compile_input_transformer",
    "render_input",
    "render_target_input",
    "validate_input_transformer",
    "validate_target",
]

RULE_NAME = "aws.events.rule-name"
RULE_ARN = "aws.events.rule-arn"
EVENT = "aws.events.event"
EVENT_JSON = "aws.events.event.json"
INGESTION_TIME = "aws.events.event.ingestion-time"
PREDEFINED_VARIABLES = frozenset({RULE_NAME, RULE_ARN, EVENT, EVENT_JSON, INGESTION_TIME})

MAX_INPUT_PATHS = 100
MAX_TEMPLATE_LENGTH = 8192
MAX_PATH_LENGTH = 256
_KEY = re.compile(r"[A-Za-z0-9_\-]{1,256}")
PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_COMPACT = {"separators": (",", ":"), "ensure_ascii": False}


class InputTransformerError(ValueError):
    """A target AWS would reject at PutTargets (a ValidationException); the message says why."""

    code = "ValidationException"


@dataclass(frozen=True, slots=True)
class RenderedInput:
    """What a target gets for one event.

    `delivered` is False when AWS would drop the invocation; then `body` is None and `error` says
    why (with the JSON error). `rendered` is always the text the template produced. `missing` names
    the variables whose path found nothing (rendered as `""` or empty); `notes` explains oddities.
    """

    delivered: bool
    body: str | None
    error: str | None
    rendered: str
    missing: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Placeholder:
    """A `<name>` of a template; `quoted` when it sits inside a JSON string (rendered raw)."""

    name: str
    quoted: bool


class CompiledInputTransformer:
    """A validated InputTransformer, parsed once; `render` it against any number of events."""

    def __init__(self, input_paths_map: Mapping[str, str], input_template: str, target_id: str) -> None:
        validate_input_transformer(input_paths_map, input_template, target_id)
        self.input_paths_map = dict(input_paths_map)
        self.input_template = input_template
        self.is_json_template = input_template.lstrip().startswith("{")
        self._segments = _segments(input_template)
        self._paths: dict[str, InputPath | InputPathSyntaxError] = {}
        for name, path in self.input_paths_map.items():
            try:
                self._paths[name] = parse_input_path(path)
            except InputPathSyntaxError as exc:
                self._paths[name] = exc

    @property
    def placeholders(self) -> list[Placeholder]:
        """The template's placeholders in order, e.g. for a linter checking how each is quoted."""
        return [segment for segment in self._segments if isinstance(segment, Placeholder)]

    def render(
        self,
        event: object,
        *,
        rule_name: str,
        rule_arn: str,
        ingestion_time: str | datetime | None = None,
    ) -> RenderedInput:
        """Render the template for `event` as the rule `rule_name` / `rule_arn` would."""
        values: dict[str, object] = {}
        missing: list[str] = []
        notes: list[str] = []
        for name, path in self._paths.items():
            if isinstance(path, InputPathSyntaxError):
                values[name] = MISSING
                notes.append(f"variable {name!r}: {path}; AWS finds nothing there")
            else:
                values[name] = path.find(event)
            if values[name] is MISSING:
                missing.append(name)
        values.update(_predefined(event, rule_name, rule_arn, ingestion_time))
        parts: list[str] = []
        for segment in self._segments:
            if isinstance(segment, str):
                parts.append(segment)
            elif segment.quoted:
                parts.append(_inside_string(values[segment.name], self.is_json_template))
            else:
                parts.append(_as_json_value(values[segment.name]))
        rendered = "".join(parts)
        error = _json_error(rendered) if self.is_json_template else None
        return RenderedInput(
            delivered=error is None,
            body=rendered if error is None else None,
            error=error,
            rendered=rendered,
            missing=tuple(missing),
            notes=tuple(notes),
        )


def validate_input_transformer(input_paths_map: Mapping[str, str], input_template: str, target_id: str) -> None:
    """Check an InputTransformer as PutTargets does; raise InputTransformerError."""
    if len(input_paths_map) > MAX_INPUT_PATHS:
        raise InputTransformerError(
            f"InputPathsMap for target {target_id} has {len(input_paths_map)} entries; "
            f"at most {MAX_INPUT_PATHS} are allowed."
        )
    for key, path in input_paths_map.items():
        if not isinstance(key, str) or _KEY.fullmatch(key) is None:
            raise InputTransformerError(
                f"InputPathsMap for target {target_id} has an invalid key {key!r}: keys are 1 to 256 "
                "characters of [A-Za-z0-9_-]; names starting with 'AWS.' and the predefined "
                "aws.events.* variables are reserved."
            )
        if not isinstance(path, str) or len(path) > MAX_PATH_LENGTH:
            raise InputTransformerError(
                f"InputPathsMap for target {target_id}: the path of {key!r} must be a string of at most "
                f"{MAX_PATH_LENGTH} characters."
            )
    if not isinstance(input_template, str) or not 1 <= len(input_template) <= MAX_TEMPLATE_LENGTH:
        length = len(input_template) if isinstance(input_template, str) else "no"
        raise InputTransformerError(
            f"InputTemplate for target {target_id} must be 1 to {MAX_TEMPLATE_LENGTH} characters (it has {length})."
        )
    for segment in _segments(input_template):
        if isinstance(segment, Placeholder) and not (
            segment.name in input_paths_map or segment.name in PREDEFINED_VARIABLES
        ):
            raise InputTransformerError(
                f"InputTemplate for target {target_id} contains invalid placeholder {segment.name}."
            )
    if input_template.lstrip().startswith("{"):
        key_placeholder = _placeholder_used_as_key(input_template)
        if key_placeholder is not None:
            raise InputTransformerError(
                f"InputTemplate for target {target_id} uses <{key_placeholder}> as an object key; "
                "a placeholder cannot be used as an object key."
            )


def validate_target(
    target_id: str,
    *,
    input: str | None = None,
    input_path: str | None = None,
    input_paths_map: Mapping[str, str] | None = None,
    input_template: str | None = None,
) -> None:
    """Check how a target shapes its input, as PutTargets does; raise InputTransformerError.

    `input_template` (with `input_paths_map`) stands for an InputTransformer.
    """
    given = [value is not None for value in (input, input_path, input_template)]
    if sum(given) > 1:
        raise InputTransformerError(
            f"Only one of Input, InputPath, or InputTransformer must be provided for target {target_id}."
        )
    if input is not None and _json_error(input) is not None:
        raise InputTransformerError(f"Input for target {target_id} is not valid JSON: {_json_error(input)}")
    if input_path is not None and len(input_path) > MAX_PATH_LENGTH:
        raise InputTransformerError(f"InputPath for target {target_id} is longer than {MAX_PATH_LENGTH} characters.")
    if input_template is not None:
        validate_input_transformer(input_paths_map or {}, input_template, target_id)


def compile_input_transformer(
    input_paths_map: Mapping[str, str], input_template: str, *, target_id: str = "target"
) -> CompiledInputTransformer:
    """Validate and parse an InputTransformer (cached); raise InputTransformerError."""
    return _compiled(tuple(input_paths_map.items()), input_template, target_id)


@lru_cache(maxsize=256)
def _compiled(items: tuple[tuple[str, str], ...], template: str, target_id: str) -> CompiledInputTransformer:
    return CompiledInputTransformer(dict(items), template, target_id)


def render_input(
    input_paths_map: Mapping[str, str],
    input_template: str,
    event: object,
    *,
    rule_name: str,
    rule_arn: str,
    ingestion_time: str | datetime | None = None,
    target_id: str = "target",
) -> RenderedInput:
    """Render an InputTransformer for one event; raise InputTransformerError if PutTargets would refuse it.

    >>> render_input({"n": "$.detail.name"}, '{"name": <n>}', {"detail": {"name": "fn"}},
    ...              rule_name="r", rule_arn="arn:aws:events:eu-west-1:123456789012:rule/r").body
    '{"name": "fn"}'
    """
    transformer = compile_input_transformer(input_paths_map, input_template, target_id=target_id)
    return transformer.render(event, rule_name=rule_name, rule_arn=rule_arn, ingestion_time=ingestion_time)


def render_target_input(
    event: object,
    *,
    rule_name: str,
    rule_arn: str,
    input: str | None = None,
    input_path: str | None = None,
    input_paths_map: Mapping[str, str] | None = None,
    input_template: str | None = None,
    ingestion_time: str | datetime | None = None,
    target_id: str = "target",
) -> RenderedInput:
    """What a target receives, whichever way it shapes its input (none, Input, InputPath, transformer).

    Without any of them the whole event is sent. An InputPath that finds nothing is reported as not
    delivered (AWS's exact behaviour there is not recorded).
    """
    validate_target(
        target_id,
        input=input,
        input_path=input_path,
        input_paths_map=input_paths_map,
        input_template=input_template,
    )
    if input_template is not None:
        return render_input(
            input_paths_map or {},
            input_template,
            event,
            rule_name=rule_name,
            rule_arn=rule_arn,
            ingestion_time=ingestion_time,
            target_id=target_id,
        )
    if input is not None:
        return RenderedInput(delivered=True, body=input, error=None, rendered=input)
    if input_path is None:
        text = json.dumps(event, **_COMPACT)  # type: ignore[arg-type]
        return RenderedInput(delivered=True, body=text, error=None, rendered=text)
    try:
        value = parse_input_path(input_path).find(event)
    except InputPathSyntaxError as exc:
        value, note = MISSING, str(exc)
    else:
        note = f"InputPath {input_path!r} finds nothing in the event"
    if value is MISSING:
        return RenderedInput(delivered=False, body=None, error=note, rendered="")
    text = json.dumps(value, **_COMPACT)  # type: ignore[arg-type]
    return RenderedInput(delivered=True, body=text, error=None, rendered=text)


def build_rule_arn(region: str, account_id: str, rule_name: str, event_bus_name: str = "default") -> str:
    """The ARN of a rule: `rule/<name>` on the default bus, `rule/<bus>/<name>` on any other."""
    bus = event_bus_name.rsplit("/", 1)[-1] if event_bus_name.startswith("arn:") else event_bus_name
    resource = f"rule/{rule_name}" if bus == "default" else f"rule/{bus}/{rule_name}"
    return f"arn:aws:events:{region}:{account_id}:{resource}"


def scan_quoting(text: str, token: re.Pattern[str] = PLACEHOLDER) -> Iterator[tuple[re.Match[str], bool]]:
    """Each match of `token` in `text`, in order, and whether it sits inside a double-quoted string.

    Backslash escapes inside strings are honoured. InputTransformer templates (`<name>` inside or
    outside a JSON string) and the linter's marked jq programs (a marker inside or outside a jq string
    literal) are both read this way.
    """
    in_string = False
    index = 0
    while index < len(text):
        char = text[index]
        if in_string and char == "\\":
            index += 2
            continue
        if char == '"':
            in_string = not in_string
        else:
            match = token.match(text, index)
            if match is not None:
                yield match, in_string
                index = match.end()
                continue
        index += 1


def _segments(template: str) -> list[str | Placeholder]:
    """Split a template into literal text and placeholders, noting which sit inside a JSON string."""
    segments: list[str | Placeholder] = []
    literal_start = 0
    for match, in_string in scan_quoting(template):
        segments.append(template[literal_start : match.start()])
        segments.append(Placeholder(name=match.group(1), quoted=in_string))
        literal_start = match.end()
    segments.append(template[literal_start:])
    return [segment for segment in segments if segment != ""]


def _placeholder_used_as_key(template: str) -> str | None:
    """The first placeholder that is, or is part of, an object key of a JSON template."""
    string_start: int | None = None
    names_in_string: list[str] = []
    index = 0
    while index < len(template):
        char = template[index]
        if string_start is not None:
            if char == "\\":
                index += 2
                continue
            if char == '"':
                if names_in_string and _followed_by_colon(template, index + 1):
                    return names_in_string[0]
                string_start, names_in_string = None, []
            elif char == "<" and (match := PLACEHOLDER.match(template, index)) is not None:
                names_in_string.append(match.group(1))
        elif char == '"':
            string_start = index
        elif char == "<" and (match := PLACEHOLDER.match(template, index)) is not None:
            if _followed_by_colon(template, match.end()):
                return match.group(1)
            index = match.end()
            continue
        index += 1
    return None


def _followed_by_colon(text: str, position: int) -> bool:
    rest = text[position:].lstrip()
    return rest.startswith(":")


def _predefined(
    event: object, rule_name: str, rule_arn: str, ingestion_time: str | datetime | None
) -> dict[str, object]:
    time = _ingestion_time_text(event, ingestion_time)
    return {
        RULE_NAME: rule_name,
        RULE_ARN: rule_arn,
        EVENT_JSON: event,
        EVENT: _event_without_detail(event, time),
        INGESTION_TIME: time,
    }


def _ingestion_time_text(event: object, ingestion_time: str | datetime | None) -> str:
    if isinstance(ingestion_time, str):
        return ingestion_time
    if isinstance(ingestion_time, datetime):
        return utc_timestamp(ingestion_time)
    event_time = event.get("time") if isinstance(event, dict) else None
    return event_time if isinstance(event_time, str) else utc_timestamp()


def _event_without_detail(event: object, time: str) -> object:
    """`<aws.events.event>`: the envelope without `detail`, `detail-type` renamed `detailType` and
    `time` the ingestion time (AWS-recorded)."""
    if not isinstance(event, dict):
        return event
    envelope: dict[str, object] = {}
    for key, value in event.items():
        if key == "detail":
            continue
        if key == "detail-type":
            envelope["detailType"] = value
        elif key == "time":
            envelope["time"] = time
        else:
            envelope[key] = value
    return envelope


def _as_json_value(value: object) -> str:
    if value is MISSING:
        return '""'
    return json.dumps(value, **_COMPACT)  # type: ignore[arg-type]


def _inside_string(value: object, json_template: bool) -> str:
    if value is MISSING or value is None:
        return ""
    if isinstance(value, str):
        return value
    text = json.dumps(value, **_COMPACT)  # type: ignore[arg-type]
    if isinstance(value, dict | list) and not json_template:
        return text.replace('"', "")
    return text


def _json_error(text: str) -> str | None:
    try:
        loads_strict(text)
    except ValueError as exc:
        return f"the rendered input is not valid JSON: {exc}"
    return None
