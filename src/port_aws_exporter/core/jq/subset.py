"""The plain-path subset of jq, evaluated in Python.

Most mapping expressions are plain paths (`.FunctionName`, `.EphemeralStorage.Size`), string
concatenations (`"https://…?arn=" + .Arn`) and defaults (`.FifoQueue // false`). jq.py spends most
of its time parsing the whole input document for every call (tens of microseconds per kilobyte),
so mappings made only of such expressions are evaluated here instead, several times faster.

Fidelity comes first: this evaluator only answers when the answer is certain. Any case it does not
model exactly (a type mismatch that jq reports as an error, number arithmetic, an error on the left
of `//`) raises `NotCertain`, and the caller evaluates the expression with jq itself. Tests compare
the two on generated documents.

Grammar (anything else is not in the subset, and `compile_subset` returns None):

    alternative := sum ('//' sum)*
    sum         := postfix ('+' postfix)*
    postfix     := primary segment*          (no spaces between the parts)
    primary     := '.' | '.' name | '.' "string" | literal | '(' alternative ')'
    segment     := '.' name | '.' "string" | '[' int ']' | '[' int? ':' int? ']'
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

Evaluator = Callable[[Any], Any]


class NotCertain(Exception):
    """This evaluator cannot be sure of jq's answer here: ask jq."""


_TOKEN = re.compile(
    r"""(?P<space>\s+)
    | (?P<field>\.[A-Za-z_][A-Za-z0-9_]*)
    | (?P<quoted_field>\."(?:[^"\\]|\\[^(])*")
    | (?P<dot>\.)
    | (?P<string>"(?:[^"\\]|\\[^(])*")
    | (?P<number>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
    | (?P<keyword>\b(?:null|true|false)\b)
    | (?P<alternative>//)
    | (?P<plus>\+)
    | (?P<open>\()
    | (?P<close>\))
    | (?P<bracket>\[\s*(?P<start>-?\d+)?\s*(?P<colon>:)?\s*(?P<end>-?\d+)?\s*\])
    """,
    re.VERBOSE,
)


class _Parser:
    def __init__(self, expression: str) -> None:
        self.tokens: list[tuple[str, re.Match[str]]] = []
        position = 0
        while position < len(expression):
            match = _TOKEN.match(expression, position)
            if match is None or match.lastgroup is None:
                raise NotCertain
            kind = "bracket" if match.group("bracket") else match.lastgroup
            self.tokens.append((kind, match))
            position = match.end()
        self.position = 0

    def peek(self) -> str | None:
        while self.position < len(self.tokens) and self.tokens[self.position][0] == "space":
            self.position += 1
        return self.tokens[self.position][0] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, re.Match[str]]:
        self.peek()
        token = self.tokens[self.position]
        self.position += 1
        return token

    def adjacent(self) -> str | None:
        """The next token if it follows the previous one without a space."""
        return self.tokens[self.position][0] if self.position < len(self.tokens) else None

    def alternative(self) -> Evaluator:
        left = self.sum()
        while self.peek() == "alternative":
            self.take()
            left = _alternative(left, self.sum())
        return left

    def sum(self) -> Evaluator:
        left = self.postfix()
        while self.peek() == "plus":
            self.take()
            left = _plus(left, self.postfix())
        return left

    def postfix(self) -> Evaluator:
        evaluator = self.primary()
        while self.adjacent() in ("field", "quoted_field", "bracket"):
            evaluator = _segment(evaluator, *self.take())
        return evaluator

    def primary(self) -> Evaluator:
        kind, match = self.take()
        text = match.group()
        if kind == "dot":
            if self.adjacent() == "bracket":
                return _segment(_identity, *self.take())
            return _identity
        if kind in ("field", "quoted_field"):
            return _segment(_identity, kind, match)
        if kind in ("string", "number", "keyword"):
            constant = json.loads(text)
            return lambda _: constant
        if kind == "open":
            inner = self.alternative()
            if self.peek() != "close":
                raise NotCertain
            self.take()
            return inner
        raise NotCertain


def _identity(value: Any) -> Any:
    return value


def _segment(base: Evaluator, kind: str, match: re.Match[str]) -> Evaluator:
    if kind == "field":
        return _field(base, match.group()[1:])
    if kind == "quoted_field":
        return _field(base, json.loads(match.group()[1:]))
    start, colon, end = match.group("start"), match.group("colon"), match.group("end")
    if colon:
        return _slice(base, None if start is None else int(start), None if end is None else int(end))
    if start is None:
        raise NotCertain  # `[]` iterates: not a single value
    return _index(base, int(start))


def _field(base: Evaluator, name: str) -> Evaluator:
    def evaluate(value: Any) -> Any:
        container = base(value)
        if container is None:
            return None
        if isinstance(container, dict):
            return container.get(name)
        raise NotCertain  # jq raises "Cannot index …"

    return evaluate


def _index(base: Evaluator, position: int) -> Evaluator:
    def evaluate(value: Any) -> Any:
        container = base(value)
        if container is None:
            return None
        if isinstance(container, list):
            if -len(container) <= position < len(container):
                return container[position]
            return None
        raise NotCertain

    return evaluate


def _slice(base: Evaluator, start: int | None, end: int | None) -> Evaluator:
    def evaluate(value: Any) -> Any:
        container = base(value)
        if container is None:
            return None
        if isinstance(container, list | str):
            return container[start:end]
        raise NotCertain

    return evaluate


def _plus(left: Evaluator, right: Evaluator) -> Evaluator:
    def evaluate(value: Any) -> Any:
        a, b = left(value), right(value)
        if a is None:
            return b
        if b is None:
            return a
        for kind in (str, list):
            if type(a) is kind and type(b) is kind:
                return a + b
        if type(a) is dict and type(b) is dict:
            return {**a, **b}
        raise NotCertain  # numbers (int/float rendering), or a type error jq reports

    return evaluate


def _alternative(left: Evaluator, right: Evaluator) -> Evaluator:
    def evaluate(value: Any) -> Any:
        chosen = left(value)  # jq suppresses errors on the left; NotCertain sends it to jq
        return right(value) if chosen is None or chosen is False else chosen

    return evaluate


@lru_cache(maxsize=4096)
def compile_subset(expression: str) -> Evaluator | None:
    """A Python evaluator for `expression` if it is in the subset, else None."""
    try:
        parser = _Parser(expression)
        evaluator = parser.alternative()
        if parser.peek() is not None:
            return None
    except (NotCertain, IndexError, json.JSONDecodeError):
        return None
    return evaluator
