"""Leaf-value tests of EventBridge event patterns.

A field of a pattern holds a list of matchers that are OR-ed. `ValueTest` is that list compiled into
one object whose `accepts(value)` answers for a single leaf value of the event (a string, a number,
`true`, `false` or `null`). Each JSON type is tested only by the matchers that can accept it, so a
string is never compared with a number and the Python trap `True == 1` cannot leak in.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field

StringTest = Callable[[str], bool]
NumberTest = Callable[[float], bool]
LeafTest = Callable[[object], bool]

# event-ruler only treats a string as an IP address when it has one of these shapes; anything else
# (host names, zone ids, IPv4-mapped IPv6 with dots) stays a plain string.
_IPV4_SHAPE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_IPV6_SHAPE = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*")


def ip_shaped(text: str) -> bool:
    """True when `text` has the shape of an IPv4 or IPv6 address literal."""
    return _IPV4_SHAPE.fullmatch(text) is not None or _IPV6_SHAPE.fullmatch(text) is not None


def parse_ip(text: str) -> tuple[int, int] | None:
    """`(version, integer)` of an IP address literal, or None when `text` is not one."""
    if not ip_shaped(text):
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return address.version, int(address)


@dataclass(frozen=True, slots=True)
class IpRange:
    """An inclusive range of addresses of one IP version (what a `cidr` matcher admits)."""

    version: int
    low: int
    high: int

    def contains(self, text: str) -> bool:
        """True when `text` is an address of this range's version inside the range."""
        parsed = parse_ip(text)
        return parsed is not None and parsed[0] == self.version and self.low <= parsed[1] <= self.high


@dataclass(frozen=True, slots=True)
class NumericRange:
    """`low < x`, `low <= x`, `x < high`... as given by a `numeric` matcher; None means unbounded."""

    low: float | None
    low_open: bool
    high: float | None
    high_open: bool

    def contains(self, number: float) -> bool:
        """True when `number` lies within the range."""
        low, high = self.low, self.high
        if low is not None and (number <= low if self.low_open else number < low):
            return False
        return not (high is not None and (number >= high if self.high_open else number > high))


def wildcard_regex(text: str) -> re.Pattern[str]:
    """The regular expression of an already validated `wildcard` operand (whole-string match)."""
    parts: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            parts.append(re.escape(text[index + 1]))
            index += 2
            continue
        parts.append(".*" if char == "*" else re.escape(char))
        index += 1
    return re.compile("".join(parts), re.DOTALL)


@dataclass(slots=True)
class ValueTest:
    """The OR of one field's matchers, tested against one leaf value at a time."""

    strings: set[str] = field(default_factory=set)
    numbers: set[float] = field(default_factory=set)
    match_true: bool = False
    match_false: bool = False
    match_null: bool = False
    # An exact string that is an IP literal also admits other spellings of the same address.
    ip_addresses: set[tuple[int, int]] = field(default_factory=set)
    prefixes: list[str] = field(default_factory=list)
    suffixes: list[str] = field(default_factory=list)
    string_tests: list[StringTest] = field(default_factory=list)
    number_tests: list[NumberTest] = field(default_factory=list)
    # Tests that look at a leaf of any JSON type (anything-but and its variants).
    leaf_tests: list[LeafTest] = field(default_factory=list)
    # `exists: true`: any leaf at all is enough.
    any_leaf: bool = False
    # `exists: false`: the field may also be satisfied by having no leaf.
    absent_ok: bool = False
    _prefix_tuple: tuple[str, ...] = ()
    _suffix_tuple: tuple[str, ...] = ()

    def freeze(self) -> ValueTest:
        """Prepare the lookup structures; call once after the last matcher is added."""
        self._prefix_tuple = tuple(self.prefixes)
        self._suffix_tuple = tuple(self.suffixes)
        return self

    def accepts(self, value: object) -> bool:
        """True when the leaf `value` satisfies at least one of the field's matchers."""
        if type(value) is str:
            if value in self.strings or self.any_leaf:
                return True
            if self._prefix_tuple and value.startswith(self._prefix_tuple):
                return True
            if self._suffix_tuple and value.endswith(self._suffix_tuple):
                return True
            if self._accepts_string(value):
                return True
        elif self.any_leaf or self._accepts_by_type(value):
            return True
        return bool(self.leaf_tests) and any(leaf_test(value) for leaf_test in self.leaf_tests)

    def _accepts_by_type(self, value: object) -> bool:
        kind = type(value)
        if kind is bool:
            return self.match_true if value else self.match_false
        if value is None:
            return self.match_null
        if kind is int or kind is float:
            if value in self.numbers:
                return True
            return any(number_test(value) for number_test in self.number_tests)  # type: ignore[arg-type]
        return False

    def _accepts_string(self, text: str) -> bool:
        """The string matchers other than exact values, prefixes and suffixes."""
        if self.ip_addresses:
            parsed = parse_ip(text)
            if parsed is not None and parsed in self.ip_addresses:
                return True
        return any(string_test(text) for string_test in self.string_tests)
