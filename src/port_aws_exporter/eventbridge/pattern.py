"""EventBridge event patterns: validated once, matched many times, with AWS's semantics.

    >>> pattern = compile_pattern({"source": ["aws.lambda"], "detail": {"eventName": [{"prefix": "Create"}]}})
    >>> pattern.match({"source": "aws.lambda", "detail": {"eventName": "DeleteFunction20150331"}})
    PatternMatch(matched=False, failed_field='detail.eventName')

How an event is read (the reference is `eventbridge-semantics.md` §A2, i.e. what AWS and
aws/event-ruler do):

- The pattern and the event are both seen as leaf values (strings, numbers, booleans, null) at
  dotted paths; keys are joined with ".", so `{"a": {"b": ..}}` and `{"a.b": ..}` are the same path.
- Arrays are transparent: every element is a value of the same path, arrays of objects included.
- Array consistency: a match may not combine leaves from different elements of the same array
  (event-ruler's `rulesForJSONEvent`); `exists: false` is judged within the elements chosen.
- Objects are not values: `exists: true` on an object is false, `exists: false` on it is true.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from port_aws_exporter.eventbridge._pattern_syntax import (
    CompiledField,
    InvalidPatternError,
    PatternWarning,
    compile_branches,
    parse_pattern_text,
)

__all__ = [
    "EventPattern",
    "FieldCondition",
    "InvalidPatternError",
    "PatternMatch",
    "PatternWarning",
    "cached_pattern",
    "compile_pattern",
    "pattern_matches",
]

# Where a leaf sits inside arrays: (identity of the array, index of the element) for each array
# crossed on the way down. Empty for the usual leaf that is not inside any array.
Membership = tuple[tuple[int, int], ...]
Leaf = tuple[object, Membership]

_MISSING = object()
_NO_LEAF = object()  # the walk found nothing at the path
_ARRAYS = object()  # the walk met an array or a dotted key: take the general walk


@dataclass(frozen=True, slots=True)
class PatternMatch:
    """The outcome of matching one event: `matched`, else the dotted path of the field that failed."""

    matched: bool
    failed_field: str | None = None

    def __bool__(self) -> bool:
        return self.matched


_MATCHED = PatternMatch(matched=True)


@lru_cache(maxsize=1024)
def _failure(path: str | None) -> PatternMatch:
    """One shared (immutable) result per failing field: building a dataclass costs more than a match."""
    return PatternMatch(matched=False, failed_field=path)


@dataclass(frozen=True, slots=True)
class FieldCondition:
    """One field of one `$or` branch of a compiled pattern, for tools that reason about a pattern.

    `matchers` is the field's matcher list as written; `accepts(value)` tests one leaf value against
    it alone (other fields and array consistency aside).
    """

    branch: int
    path: str
    matchers: tuple[object, ...]
    _compiled: CompiledField

    def accepts(self, value: object) -> bool:
        """True when the leaf `value` satisfies one of this field's matchers."""
        return self._compiled.test.accepts(value)

    @property
    def admits_absence(self) -> bool:
        """True when the field has an `exists: false` matcher."""
        return self._compiled.test.absent_ok


class EventPattern:
    """A validated event pattern, compiled for fast repeated matching. Build it with `compile_pattern`."""

    __slots__ = ("_branches", "source", "warnings")

    def __init__(
        self, source: dict[str, object], branches: list[list[CompiledField]], warnings: list[PatternWarning]
    ) -> None:
        self.source = source
        self.warnings: tuple[PatternWarning, ...] = tuple(warnings)
        self._branches = tuple(tuple(branch) for branch in branches)

    def __repr__(self) -> str:
        return f"EventPattern({json.dumps(self.source)})"

    def fields(self) -> list[FieldCondition]:
        """Every field of every `$or` branch, in pattern order."""
        return [
            FieldCondition(branch=index, path=field.path, matchers=field.matchers, _compiled=field)
            for index, branch in enumerate(self._branches)
            for field in branch
        ]

    def match(self, event: object) -> PatternMatch:
        """Match one event (a parsed JSON value, normally a dict)."""
        if len(self._branches) == 1:
            matched, _, failed = _match_branch(self._branches[0], event, None)
            return _MATCHED if matched else _failure(failed)
        cache: dict[str, list[Leaf]] = {}
        best_depth, best_failed = -1, None
        for branch in self._branches:
            matched, depth, failed = _match_branch(branch, event, cache)
            if matched:
                return _MATCHED
            if depth > best_depth:
                best_depth, best_failed = depth, failed
        return _failure(best_failed)

    def matches(self, event: object) -> bool:
        """`match(event).matched`."""
        return self.match(event).matched


def compile_pattern(pattern: Mapping[str, object] | str) -> EventPattern:
    """Validate an event pattern (a dict, or its JSON text) and compile it.

    Raises InvalidPatternError, whose message is the text AWS answers for the same pattern.
    """
    parsed = parse_pattern_text(pattern) if isinstance(pattern, str) else pattern
    branches, warnings = compile_branches(parsed)
    assert isinstance(parsed, Mapping)
    return EventPattern(dict(parsed), branches, warnings)


def cached_pattern(pattern: Mapping[str, object] | str) -> EventPattern:
    """`compile_pattern`, cached by the pattern's JSON text (for callers that meet a pattern often)."""
    return _compiled_from_text(pattern if isinstance(pattern, str) else json.dumps(pattern))


def pattern_matches(pattern: Mapping[str, object] | str, event: object) -> bool:
    """True when `event` matches `pattern`; the compiled pattern is cached."""
    return cached_pattern(pattern).match(event).matched


@lru_cache(maxsize=256)
def _compiled_from_text(text: str) -> EventPattern:
    return compile_pattern(text)


def _collect(node: object, field: CompiledField, atom: int, membership: Membership, out: list[Leaf]) -> None:
    """Append the leaves found under `node` for the path atoms of `field` from index `atom` on."""
    if isinstance(node, list):
        for index, element in enumerate(node):
            _collect(element, field, atom, (*membership, (id(node), index)), out)
        return
    if atom == len(field.steps):
        if not isinstance(node, dict):
            out.append((node, membership))
        return
    if isinstance(node, dict):
        for key, next_atom in field.steps[atom]:
            child = node.get(key, _MISSING)
            if child is not _MISSING:
                _collect(child, field, next_atom, membership, out)


def _leaves(field: CompiledField, event: object, cache: dict[str, list[Leaf]] | None) -> list[Leaf]:
    if cache is not None:
        cached = cache.get(field.path)
        if cached is not None:
            return cached
    out: list[Leaf] = []
    _collect(event, field, 0, (), out)
    if cache is not None:
        cache[field.path] = out
    return out


# A field that only array consistency can decide: the memberships of its matching leaves, and of
# all its leaves when `exists: false` may satisfy it.
_Pending = tuple[int, list[Membership], list[Membership] | None]


def _match_branch(
    branch: tuple[CompiledField, ...], event: object, cache: dict[str, list[Leaf]] | None
) -> tuple[bool, int, str | None]:
    """(matched, how many fields passed, first failing field) for one `$or` branch."""
    pending: list[_Pending] = []
    for index, field in enumerate(branch):
        value = _single_leaf(event, field)
        if value is _NO_LEAF:
            if field.test.absent_ok:
                continue
            return False, index, field.path
        if value is not _ARRAYS:
            # One leaf outside any array: it decides alone, and it cannot be absent.
            if field.test.accepts(value):
                continue
            return False, index, field.path
        leaves = _leaves(field, event, cache)
        accepts = field.test.accepts
        matching = [membership for leaf, membership in leaves if accepts(leaf)]
        if () in matching:
            continue  # a leaf outside any array: consistent with whatever else is chosen
        absent = field.test.absent_ok
        if absent and not leaves:
            continue
        if absent and any(not membership for _, membership in leaves):
            absent = False  # present outside arrays, so it cannot be absent in any context
        if not matching and not absent:
            return False, index, field.path
        pending.append((index, matching, [membership for _, membership in leaves] if absent else None))
    if not pending:
        return True, len(branch), None
    matched, depth = _consistent_choice(pending)
    if matched:
        return True, len(branch), None
    failed_index = pending[depth][0]
    return False, failed_index, branch[failed_index].path


def _single_leaf(event: object, field: CompiledField) -> object:
    """The walk of the common case, one key per path atom and no array on the way: the leaf value,
    `_NO_LEAF`, or `_ARRAYS` when the general walk is needed."""
    node = event
    joined = field.joined
    for index, atom in enumerate(field.atoms):
        if type(node) is not dict:
            # Lists, and dict subclasses the fast walk does not special-case, take the general walk.
            return _ARRAYS if isinstance(node, list | dict) else _NO_LEAF
        for key in joined[index]:
            if key in node:
                return _ARRAYS
        node = node.get(atom, _MISSING)
        if node is _MISSING:
            return _NO_LEAF
    if type(node) is dict:
        return _NO_LEAF
    if isinstance(node, list | dict):
        return _ARRAYS
    return node


def _consistent_choice(pending: list[_Pending]) -> tuple[bool, int]:
    """Search one leaf (or absence) per pending field with no two leaves in different elements of
    one array. Returns (found, deepest pending field reached)."""
    absent_fields: list[list[Membership]] = []
    deepest = 0

    def consistent(membership: Membership, chosen: dict[int, int]) -> bool:
        return all(chosen.get(array, index) == index for array, index in membership)

    def search(position: int, chosen: dict[int, int]) -> bool:
        nonlocal deepest
        deepest = max(deepest, position)
        if position == len(pending):
            # Absence is judged against the final choice: no leaf of the field may be consistent.
            return not any(consistent(m, chosen) for memberships in absent_fields for m in memberships)
        _, matching, all_leaves = pending[position]
        for membership in matching:
            if consistent(membership, chosen) and search(position + 1, {**chosen, **dict(membership)}):
                return True
        if all_leaves is not None:
            absent_fields.append(all_leaves)
            if search(position + 1, chosen):
                return True
            absent_fields.pop()
        return False

    found = search(0, {})
    return found, min(deepest, len(pending) - 1)
