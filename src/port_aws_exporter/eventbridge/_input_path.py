"""The JSONPath subset of EventBridge's InputPathsMap and InputPath.

AWS documents dot notation with alphanumerics, dashes, underscores and slashes in names, array
indices (`$.resources[0]`) and `*` wildcards; bracket key access is not part of it. AWS does not
validate paths when a target is created, so a path outside the subset simply finds nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MISSING = object()

_SEGMENT = re.compile(r"\.(\*|[^.\[\]]+)|\[(\*|-?[0-9]+)\]")


@dataclass(frozen=True, slots=True)
class InputPath:
    """A parsed path: steps are a key (str), an index (int) or the wildcard (None)."""

    text: str
    steps: tuple[str | int | None, ...]

    @property
    def definite(self) -> bool:
        """True when the path names at most one value (it has no wildcard)."""
        return None not in self.steps

    def find(self, document: object) -> object:
        """The value at this path, `MISSING` when there is none.

        A path with a wildcard gives the list of everything it reaches (MISSING when nothing), the
        way JSONPath implementations answer indefinite paths.
        """
        found = _walk(document, self.steps)
        if self.definite:
            return found[0] if found else MISSING
        return found if found else MISSING


class InputPathSyntaxError(ValueError):
    """A path outside the JSONPath subset EventBridge documents."""


def parse_input_path(text: str) -> InputPath:
    """Parse `$`, `$.a.b`, `$.a[0].b`, `$.a[*]`, `$.a.*`; raise InputPathSyntaxError otherwise."""
    if not text.startswith("$"):
        raise InputPathSyntaxError(f"path {text!r} does not start with '$'")
    steps: list[str | int | None] = []
    position = 1
    while position < len(text):
        match = _SEGMENT.match(text, position)
        if match is None:
            raise InputPathSyntaxError(f"path {text!r} is not dot notation at character {position + 1}")
        name, index = match.group(1), match.group(2)
        if name is not None:
            steps.append(None if name == "*" else name)
        else:
            steps.append(None if index == "*" else int(index))
        position = match.end()
    return InputPath(text=text, steps=tuple(steps))


def _walk(document: object, steps: tuple[str | int | None, ...]) -> list[object]:
    current = [document]
    for step in steps:
        following: list[object] = []
        for node in current:
            following.extend(_step(node, step))
        current = following
        if not current:
            break
    return current


def _step(node: object, step: str | int | None) -> list[object]:
    if step is None:
        if isinstance(node, dict):
            return list(node.values())
        return list(node) if isinstance(node, list) else []
    if isinstance(step, int):
        if isinstance(node, list) and -len(node) <= step < len(node):
            return [node[step]]
        return []
    if isinstance(node, dict) and step in node:
        return [node[step]]
    return []
