"""Validation and compilation of EventBridge event patterns.

The rules and the error texts follow what AWS answers to PutRule / TestEventPattern (recorded in
`eventbridge-pattern-vectors.json`), which is what aws/event-ruler's JSON rule compiler answers too.
A pattern compiles into branches: the `$or` alternatives multiplied out, each a list of fields that
must all match (`CompiledField`: a dotted path and the `ValueTest` of its matcher list).
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from dataclasses import dataclass
from typing import TypeGuard

from port_aws_exporter.eventbridge._pattern_values import (
    IpRange,
    LeafTest,
    NumericRange,
    StringTest,
    ValueTest,
    ip_shaped,
    parse_ip,
    wildcard_regex,
)
from port_aws_exporter.eventbridge.json_text import loads_strict

AWS_ERROR_PREFIX = "Event pattern is not valid. Reason: "

# AWS documents that a pattern's `$or` alternatives may not multiply out to more than this.
MAX_OR_COMBINATIONS = 1000
# PutRule's limit on the EventPattern string (botocore's service model).
MAX_PATTERN_LENGTH = 4096

# Field names that make an array not an `$or` when they appear at the top of one of its objects, and
# that may not be used as field names anywhere inside an `$or` (event-ruler's reserved words).
RESERVED_IN_OR = frozenset(
    {
        "exactly",
        "equals-ignore-case",
        "prefix",
        "suffix",
        "anything-but",
        "exists",
        "wildcard",
        "numeric",
        "cidr",
        "=",
        "<",
        "<=",
        ">",
        ">=",
        "regex",
        "not-wildcard",
        "not-equals-ignore-case",
        "date-after",
        "date-on-or-after",
        "date-before",
        "date-on-or-before",
        "in-date-range",
        "ip-address-in-range",
        "ip-address-not-in-range",
    }
)

# AWS's limit is not published: it accepted operands of complexity 8 (`/Users/*/dir/dir/dir/dir/dir/doc.txt`)
# and rejected 12 (`*:*:*:*:*:event-bus/*`), so warn from the middle of that gap.
WILDCARD_COMPLEXITY_WARNING = 10

WILDCARD_TOO_COMPLEX = (
    "Rule is too complex - try using fewer wildcard characters or fewer repeating character "
    "sequences after a wildcard character"
)


class InvalidPatternError(ValueError):
    """An event pattern that AWS would reject; the message is AWS's own text.

    `reason` is the text after AWS's "Event pattern is not valid. Reason: " prefix and `path` the
    dotted field path where the problem was found (None when it concerns the whole pattern).
    """

    def __init__(self, reason: str, path: str | None = None) -> None:
        super().__init__(AWS_ERROR_PREFIX + reason)
        self.reason = reason
        self.path = path


@dataclass(frozen=True, slots=True)
class PatternWarning:
    """Something AWS may refuse or that probably does not do what its author meant."""

    path: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class CompiledField:
    """One field of a branch: where its leaves are in an event and what they must satisfy.

    `steps[i]` lists the event keys that can continue a walk at atom `i` of the dotted path, with
    the atom index after them: keys are joined with "." so `a.b` may be one key or two levels.
    `atoms` are the single keys and `joined[i]` the longer keys starting at atom `i`, for the
    common walk where every key is one atom.
    """

    path: str
    steps: tuple[tuple[tuple[str, int], ...], ...]
    atoms: tuple[str, ...]
    joined: tuple[tuple[str, ...], ...]
    test: ValueTest
    matchers: tuple[object, ...]


def compile_branches(pattern: object) -> tuple[list[list[CompiledField]], list[PatternWarning]]:
    """Validate a parsed pattern and multiply out its `$or`s; raise InvalidPatternError."""
    if not isinstance(pattern, dict):
        raise InvalidPatternError("Filter is not an object")
    compiler = _StructureCompiler()
    branches = compiler.expand_object(pattern, prefix="", inside_or=False)
    length = len(json.dumps(pattern, separators=(",", ":"), ensure_ascii=False))
    if length > MAX_PATTERN_LENGTH:
        compiler.warnings.append(
            PatternWarning(
                path="",
                code="pattern-too-long",
                message=f"PutRule takes an EventPattern of at most {MAX_PATTERN_LENGTH} characters; "
                f"this one has {length} even as compact JSON",
            )
        )
    return [list(branch.values()) for branch in branches], compiler.warnings


def parse_pattern_text(text: str) -> object:
    """Parse pattern JSON text; a repeated key keeps its last value, as AWS does."""
    try:
        return loads_strict(text)
    except ValueError as exc:
        raise InvalidPatternError(f"Invalid JSON: {exc}") from exc


Branch = dict[str, CompiledField]


class _StructureCompiler:
    def __init__(self) -> None:
        self.warnings: list[PatternWarning] = []

    def expand_object(self, node: dict[object, object], prefix: str, inside_or: bool) -> list[Branch]:
        if not node:
            raise InvalidPatternError("Empty objects are not allowed", prefix.rstrip(".") or None)
        branches: list[Branch] = [{}]
        for raw_key, value in node.items():
            key = _json_key(raw_key)
            if key == "$or" and _is_or_relationship(value):
                assert isinstance(value, list)
                alternatives: list[Branch] = []
                for member in value:
                    alternatives.extend(self.expand_object(member, prefix, inside_or=True))
                branches = _multiply(branches, alternatives, prefix + key)
                continue
            path = prefix + key
            if inside_or and key in RESERVED_IN_OR:
                raise InvalidPatternError(f"{key} is Ruler reserved fieldName which cannot be used inside $or.", path)
            if isinstance(value, dict):
                branches = _multiply(branches, self.expand_object(value, path + ".", inside_or), path)
            elif isinstance(value, list):
                compiled = self.compile_field(path, value)
                for branch in branches:
                    # A path given twice keeps its last matchers, as AWS does with repeated keys.
                    branch[path] = compiled
            else:
                raise InvalidPatternError(f'"{key}" must be an object or an array', path)
        return branches

    def compile_field(self, path: str, matchers: list[object]) -> CompiledField:
        if not matchers:
            raise InvalidPatternError("Empty arrays are not allowed", path)
        test = ValueTest()
        for matcher in matchers:
            _add_matcher(test, matcher, path, self.warnings)
        atoms = path.split(".")
        steps = tuple(
            tuple((".".join(atoms[start:end]), end) for end in range(start + 1, len(atoms) + 1))
            for start in range(len(atoms))
        )
        return CompiledField(
            path=path,
            steps=steps,
            atoms=tuple(atoms),
            joined=tuple(tuple(key for key, _ in options[1:]) for options in steps),
            test=test.freeze(),
            matchers=tuple(matchers),
        )


def _json_key(key: object) -> str:
    """A mapping key as JSON text would have it (YAML may hand over numbers or booleans)."""
    return key if isinstance(key, str) else json.dumps(key)


def _is_or_relationship(value: object) -> bool:
    # Anything else keeps `$or` an ordinary field name (event-ruler's backward compatibility).
    return (
        isinstance(value, list)
        and len(value) >= 2
        and all(isinstance(member, dict) for member in value)
        and not any(_json_key(key) in RESERVED_IN_OR for member in value for key in member)
    )


def _multiply(branches: list[Branch], alternatives: list[Branch], path: str) -> list[Branch]:
    combinations = len(branches) * len(alternatives)
    if combinations > MAX_OR_COMBINATIONS:
        raise InvalidPatternError(
            f"The $or conditions of this pattern multiply out to {combinations} combinations; "
            f"at most {MAX_OR_COMBINATIONS} are allowed",
            path,
        )
    return [{**branch, **alternative} for branch in branches for alternative in alternatives]


def _is_number(value: object) -> TypeGuard[int | float]:
    return (type(value) is int or type(value) is float) and math.isfinite(value)


def _token_text(value: object) -> str:
    """How a JSON parser would print the token that starts `value` (used in AWS's messages)."""
    if value is _END:
        return "]"
    if isinstance(value, dict):
        return "{"
    if isinstance(value, list):
        return "["
    if isinstance(value, str):
        return value
    return json.dumps(value)


_END = object()


def _add_matcher(test: ValueTest, matcher: object, path: str, warnings: list[PatternWarning]) -> None:
    if isinstance(matcher, dict):
        _add_expression(test, matcher, path, warnings)
    elif isinstance(matcher, str):
        test.strings.add(matcher)
        address = parse_ip(matcher)
        if address is not None:
            test.ip_addresses.add(address)
    elif matcher is True:
        test.match_true = True
    elif matcher is False:
        test.match_false = True
    elif matcher is None:
        test.match_null = True
    elif _is_number(matcher):
        test.numbers.add(matcher)
    else:
        raise InvalidPatternError("Match value must be String, number, true, false, or null", path)


def _add_expression(
    test: ValueTest, expression: dict[object, object], path: str, warnings: list[PatternWarning]
) -> None:
    if not expression:
        raise InvalidPatternError("Match expression name not found", path)
    name = _json_key(next(iter(expression)))
    operand = next(iter(expression.values()))
    extra_keys = len(expression) > 1
    handler = _EXPRESSIONS.get(name)
    if handler is None:
        raise InvalidPatternError(f"Unrecognized match type {name}", path)
    handler(test, operand, path, warnings)
    if extra_keys:
        too_many = name in ("numeric", "anything-but")
        raise InvalidPatternError(
            "Too many elements in numeric expression" if too_many else "Only one key allowed in match expression",
            path,
        )


def _prefix(test: ValueTest, operand: object, path: str, warnings: list[PatternWarning]) -> None:
    if isinstance(operand, dict):
        lowered = _ignore_case_operand(operand, "prefix", path).lower()
        test.string_tests.append(lambda text: text.lower().startswith(lowered))
        return
    if not isinstance(operand, str):
        raise InvalidPatternError("prefix match pattern must be a string", path)
    test.prefixes.append(operand)


def _suffix(test: ValueTest, operand: object, path: str, warnings: list[PatternWarning]) -> None:
    if isinstance(operand, dict):
        lowered = _ignore_case_operand(operand, "suffix", path).lower()
        test.string_tests.append(lambda text: text.lower().endswith(lowered))
        return
    if not isinstance(operand, str):
        raise InvalidPatternError("suffix match pattern must be a string", path)
    test.suffixes.append(operand)


def _ignore_case_operand(operand: dict[object, object], kind: str, path: str) -> str:
    if not operand:
        raise InvalidPatternError(f"{kind.capitalize()} expression name not found", path)
    name = _json_key(next(iter(operand)))
    if name != "equals-ignore-case":
        raise InvalidPatternError(f"Unsupported {kind} pattern: {name}", path)
    value = next(iter(operand.values()))
    if not isinstance(value, str):
        raise InvalidPatternError("equals-ignore-case match pattern must be a string", path)
    if len(operand) > 1:
        raise InvalidPatternError("Only one key allowed in match expression", path)
    return value


def _equals_ignore_case(test: ValueTest, operand: object, path: str, warnings: list[PatternWarning]) -> None:
    if not isinstance(operand, str):
        raise InvalidPatternError("equals-ignore-case match pattern must be a string", path)
    lowered = operand.lower()
    test.string_tests.append(lambda text: text.lower() == lowered)


def _wildcard(test: ValueTest, operand: object, path: str, warnings: list[PatternWarning]) -> None:
    if not isinstance(operand, str):
        raise InvalidPatternError("wildcard match pattern must be a string", path)
    _check_wildcard(operand, path, warnings)
    regex = wildcard_regex(operand)
    test.string_tests.append(lambda text: regex.fullmatch(text) is not None)


def _exists(test: ValueTest, operand: object, path: str, warnings: list[PatternWarning]) -> None:
    if operand is True:
        test.any_leaf = True
    elif operand is False:
        test.absent_ok = True
    else:
        raise InvalidPatternError("exists match pattern must be either true or false.", path)


def _cidr(test: ValueTest, operand: object, path: str, warnings: list[PatternWarning]) -> None:
    if not isinstance(operand, str):
        # Sic: AWS names the wrong operator in this message.
        raise InvalidPatternError("prefix match pattern must be a string", path)
    test.string_tests.append(parse_cidr(operand, path).contains)


def parse_cidr(text: str, path: str | None = None) -> IpRange:
    """The address range of a `cidr` operand, validated as AWS does.

    The range is the whole network: host bits set in the address are cleared (`10.0.0.128/24` is
    `10.0.0.0` to `10.0.0.255`), as EventBridge answers and as event-ruler does since May 2023.
    The mask must leave at least one host bit (`/32` and `/128` are refused).
    """
    parts = text.split("/")
    while parts and parts[-1] == "":
        parts.pop()
    if len(parts) != 2:
        raise InvalidPatternError("Malformed CIDR, one '/' required", path)
    if re.fullmatch(r"[+-]?[0-9]+", parts[1]) is None:
        raise InvalidPatternError("Malformed CIDR, mask bits must be an integer", path)
    mask_bits = int(parts[1])
    if mask_bits < 0:
        raise InvalidPatternError("Malformed CIDR, mask bits must not be negative", path)
    if not ip_shaped(parts[0]):
        raise InvalidPatternError(f"Nonstandard IP address: {parts[0]}", path)
    try:
        address = ipaddress.ip_address(parts[0])
    except ValueError as exc:
        raise InvalidPatternError(f"Invalid IP address: {parts[0]}", path) from exc
    width = address.max_prefixlen
    if mask_bits >= width:
        raise InvalidPatternError(f"IPv{address.version} mask bits must be < {width}", path)
    host_bits = (1 << (width - mask_bits)) - 1
    low = int(address) & ~host_bits
    return IpRange(version=address.version, low=low, high=low | host_bits)


def _numeric(test: ValueTest, operand: object, path: str, warnings: list[PatternWarning]) -> None:
    if not isinstance(operand, list):
        raise InvalidPatternError("Value of numeric must be an array.", path)
    test.number_tests.append(parse_numeric(operand, path).contains)


def parse_numeric(items: list[object], path: str | None = None) -> NumericRange:
    """The range of a `numeric` operand such as `[">", 0, "<=", 5]`, validated as AWS does."""

    def item(index: int) -> object:
        return items[index] if index < len(items) else _END

    operator = item(0)
    if not isinstance(operator, str):
        raise InvalidPatternError(f"Invalid member in numeric match: {_token_text(operator)}", path)
    value = item(1)
    if operator not in ("=", ">", ">=", "<", "<="):
        raise InvalidPatternError(f"Unrecognized numeric range operator: {operator}", path)
    if not _is_number(value):
        name = "equals" if operator == "=" else operator
        raise InvalidPatternError(f"Value of {name} must be numeric", path)
    number = float(value)
    if operator == "=":
        _no_more(items, 2, "Too many elements in numeric expression", path)
        return NumericRange(low=number, low_open=False, high=number, high_open=False)
    if operator in ("<", "<="):
        _no_more(items, 2, "Too many elements in numeric expression", path)
        return NumericRange(low=None, low_open=False, high=number, high_open=operator == "<")
    if len(items) == 2:
        return NumericRange(low=number, low_open=operator == ">", high=None, high_open=False)
    upper_operator = item(2)
    if not isinstance(upper_operator, str):
        raise InvalidPatternError(f"Bad value in numeric range: {_token_text(upper_operator)}", path)
    if upper_operator not in ("<", "<="):
        raise InvalidPatternError(f"Bad numeric range operator: {upper_operator}", path)
    top = item(3)
    if not _is_number(top):
        raise InvalidPatternError(f"Value of {upper_operator} must be numeric", path)
    _no_more(items, 4, "Too many terms in numeric range expression", path)
    if number >= float(top):
        raise InvalidPatternError("Bottom must be less than top", path)
    return NumericRange(low=number, low_open=operator == ">", high=float(top), high_open=upper_operator == "<")


def _no_more(items: list[object], count: int, reason: str, path: str | None) -> None:
    if len(items) > count:
        raise InvalidPatternError(reason, path)


_ANYTHING_BUT_VARIANTS = ("equals-ignore-case", "prefix", "suffix", "wildcard")
_ANYTHING_BUT_VALUE = "Value of anything-but must be an array or single string/number value."


def _anything_but(test: ValueTest, operand: object, path: str, warnings: list[PatternWarning]) -> None:
    variant: str | None = None
    if isinstance(operand, dict):
        if not operand:
            raise InvalidPatternError("Anything-But expression name not found", path)
        variant = _json_key(next(iter(operand)))
        if variant not in _ANYTHING_BUT_VARIANTS:
            raise InvalidPatternError(f"Unsupported anything-but pattern: {variant}", path)
        inner_extra = len(operand) > 1
        operand = next(iter(operand.values()))
    else:
        inner_extra = False
    if not (isinstance(operand, list | str) or _is_number(operand)):
        raise InvalidPatternError(_ANYTHING_BUT_VALUE, path)
    if variant is None:
        test.leaf_tests.append(_anything_but_values(operand, path))
    else:
        values = operand if isinstance(operand, list) else [operand]
        test.leaf_tests.append(_anything_but_variant(variant, values, path, warnings))
    if inner_extra:
        raise InvalidPatternError("Too many elements in numeric expression", path)


def _anything_but_values(operand: object, path: str) -> LeafTest:
    members = operand if isinstance(operand, list) else [operand]
    strings: set[str] = set()
    numbers: set[float] = set()
    for member in members:
        if isinstance(member, str):
            strings.add(member)
        elif _is_number(member):
            numbers.add(member)
        else:
            raise InvalidPatternError("Inside anything but list, start|null|boolean is not supported.", path)
    if bool(strings) == bool(numbers):
        raise InvalidPatternError(
            "Inside anything but list, either all values are number or string, mixed type is not supported",
            path,
        )

    def not_excluded(value: object) -> bool:
        kind = type(value)
        if kind is str:
            return value not in strings
        if kind is int or kind is float:
            return value not in numbers
        return True

    return not_excluded


def _anything_but_variant(variant: str, values: list[object], path: str, warnings: list[PatternWarning]) -> LeafTest:
    texts: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise InvalidPatternError(_VARIANT_TYPE_ERRORS[variant], path)
        if variant in ("prefix", "suffix") and not value:
            raise InvalidPatternError("Null prefix/suffix not allowed", path)
        if variant == "wildcard":
            _check_wildcard(value, path, warnings)
        texts.append(value)
    excluded = _variant_string_test(variant, texts)

    def not_excluded(value: object) -> bool:
        return not isinstance(value, str) or not excluded(value)

    return not_excluded


_VARIANT_TYPE_ERRORS = {
    "equals-ignore-case": ("Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."),
    "prefix": "prefix/suffix match pattern must be a string",
    "suffix": "prefix/suffix match pattern must be a string",
    "wildcard": "wildcard match pattern must be a string",
}


def _variant_string_test(variant: str, texts: list[str]) -> StringTest:
    if variant == "prefix":
        prefixes = tuple(texts)
        return lambda text: bool(prefixes) and text.startswith(prefixes)
    if variant == "suffix":
        suffixes = tuple(texts)
        return lambda text: bool(suffixes) and text.endswith(suffixes)
    if variant == "equals-ignore-case":
        lowered = {text.lower() for text in texts}
        return lambda text: text.lower() in lowered
    regexes = [wildcard_regex(text) for text in texts]
    return lambda text: any(regex.fullmatch(text) is not None for regex in regexes)


def _check_wildcard(text: str, path: str, warnings: list[PatternWarning]) -> None:
    # AWS counts positions in UTF-8 bytes of the quoted operand, hence the + 1.
    data = text.encode("utf-8")
    index = 0
    while index < len(data):
        byte = data[index]
        if byte == 0x2A and index + 1 < len(data) and data[index + 1] == 0x2A:
            raise InvalidPatternError(f"Consecutive wildcard characters at pos {index + 1}", path)
        if byte == 0x5C:
            if index + 1 < len(data) and data[index + 1] in (0x2A, 0x5C):
                index += 2
                continue
            raise InvalidPatternError(f"Invalid escape character at pos {index + 1}", path)
        index += 1
    if wildcard_complexity(text) >= WILDCARD_COMPLEXITY_WARNING:
        warnings.append(
            PatternWarning(
                path=path,
                code="wildcard-too-complex",
                message=f"AWS may reject this wildcard ({text!r}): {AWS_ERROR_PREFIX}{WILDCARD_TOO_COMPLEX}",
            )
        )


def wildcard_complexity(text: str, cap: int = 100) -> int:
    """How many partial matches of a (validated) wildcard operand one value can keep alive at once.

    This is the measure AWS limits ("Rule is too complex"): the largest set of positions of the
    operand that some prefix of a value can reach together, found by exploring those sets over the
    operand's own characters plus one other. Stops counting at `cap`.
    """
    stars, literals = _wildcard_tokens(text)
    alphabet: set[str | None] = {char for char in literals if char is not None}
    alphabet.add(None)
    start = _closure({0}, stars)
    seen = {start}
    frontier = [start]
    largest = 0
    while frontier and len(seen) < 5000:
        current = frontier.pop()
        largest = max(largest, sum(1 for position in current if position < len(stars)))
        if largest >= cap:
            return cap
        for char in alphabet:
            following = {
                position if stars[position] else position + 1
                for position in current
                if position < len(stars) and (stars[position] or literals[position] == char)
            }
            reached = _closure(following, stars)
            if reached and reached not in seen:
                seen.add(reached)
                frontier.append(reached)
    return largest


def _wildcard_tokens(text: str) -> tuple[list[bool], list[str | None]]:
    stars: list[bool] = []
    literals: list[str | None] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            stars.append(False)
            literals.append(text[index + 1])
            index += 2
            continue
        stars.append(char == "*")
        literals.append(None if char == "*" else char)
        index += 1
    return stars, literals


def _closure(positions: set[int], stars: list[bool]) -> frozenset[int]:
    """The positions plus those reachable by letting a wildcard match nothing."""
    reached = set(positions)
    pending = list(positions)
    while pending:
        position = pending.pop()
        if position < len(stars) and stars[position] and position + 1 not in reached:
            reached.add(position + 1)
            pending.append(position + 1)
    return frozenset(reached)


_EXPRESSIONS = {
    "prefix": _prefix,
    "suffix": _suffix,
    "equals-ignore-case": _equals_ignore_case,
    "wildcard": _wildcard,
    "exists": _exists,
    "cidr": _cidr,
    "numeric": _numeric,
    "anything-but": _anything_but,
}
