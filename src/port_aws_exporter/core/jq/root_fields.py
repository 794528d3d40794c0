"""Which top-level fields of its input a jq expression reads (a lexical reading, no evaluation).

    >>> sorted(root_fields('.BucketName + "-" + (.Tags // [] | map(.Key) | join(","))'))
    ['BucketName', 'Tags']
    >>> sorted(root_fields('if .Fifo then .QueueUrl else ."Arn" end'))
    ['Arn', 'Fifo', 'QueueUrl']
    >>> sorted(root_fields('.Tags[] | select(.Key == "team") | .Value'))
    ['Tags']

It answers only what it is sure of: a field read where the expression's input is still the whole
document (before any `|` of its level, outside the arguments of functions that change the input,
such as `map`). A field it cannot place is left out, so a caller that warns about the fields it
returns never warns wrongly; it may miss a field read after `. as $x |` or inside `reduce`.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

_TOKEN = re.compile(
    r"""(?P<space>\s+|\#[^\n]*)
    | (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<field>\.[A-Za-z_][A-Za-z0-9_]*)
    | (?P<quoted_field>\."(?:[^"\\]|\\.)*")
    | (?P<bracket_field>\.\[\s*"(?:[^"\\]|\\.)*"\s*\])
    | (?P<recurse>\.\.)
    | (?P<dot>\.)
    | (?P<variable>\$[A-Za-z_][A-Za-z0-9_]*)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<number>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
    | (?P<open>[(\[{])
    | (?P<close>[)\]}])
    | (?P<pipe>\|(?!=))
    | (?P<other>//=?|\?//|[-+*/%]=?|==|!=|<=|>=|[<>=,:;?]|\|=)
    """,
    re.VERBOSE,
)

# Keywords after which a new term starts (its input is the current one).
_TERM_KEYWORDS = frozenset(
    {"and", "or", "not", "if", "then", "elif", "else", "end", "try", "catch", "reduce", "foreach"}
)
# Functions whose arguments are evaluated against the call's own input.
_SAME_INPUT_FUNCTIONS = frozenset(
    {
        "select",
        "test",
        "match",
        "capture",
        "contains",
        "inside",
        "startswith",
        "endswith",
        "ltrimstr",
        "rtrimstr",
        "split",
        "join",
        "has",
        "sub",
        "gsub",
        "error",
        "tostring",
        "tojson",
        "ascii_downcase",
        "ascii_upcase",
        "length",
    }
)
# Tokens after which a `.name` continues a path (`.a.b`, `f.b`, `.[0].b`) instead of starting one.
_POSTFIX_KINDS = frozenset({"field", "quoted_field", "bracket_field", "close", "name", "variable", "dot", "string"})


@lru_cache(maxsize=4096)
def root_fields(expression: str) -> frozenset[str]:
    """The top-level fields `expression` surely reads from its input (see the module's doc)."""
    fields: set[str] = set()
    # One entry per open group: is the input at this point still the whole document?
    levels: list[bool] = [True]
    previous: tuple[str, str] | None = None
    position = 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None or match.lastgroup is None:
            position += 1  # a character this reading does not know: skip it
            previous = None
            continue
        kind, text = match.lastgroup, match.group()
        position = match.end()
        if kind == "space":
            continue
        starts_term = previous is None or previous[0] not in _POSTFIX_KINDS or previous[1] in _TERM_KEYWORDS
        if kind in ("field", "quoted_field", "bracket_field") and starts_term and levels[-1]:
            fields.add(_field_name(kind, text))
        elif kind == "open":
            levels.append(levels[-1] and _keeps_input(previous))
        elif kind == "close" and len(levels) > 1:
            levels.pop()
        elif kind == "pipe":
            levels[-1] = False
        # `.a?.b`: the `?` keeps the path going.
        previous = ("close", text) if (kind, text) == ("other", "?") else (kind, text)
    return frozenset(fields)


def _keeps_input(previous: tuple[str, str] | None) -> bool:
    """Whether a group opened after `previous` sees the same input: grouping, array and object
    construction and indexing do; the arguments of most functions (`map(...)`) and the body of
    `reduce ... as $x (...)` do not."""
    if previous is None:
        return True
    kind, text = previous
    if kind == "variable":
        return False
    if kind == "name" and text not in _TERM_KEYWORDS:
        return text in _SAME_INPUT_FUNCTIONS
    return True


def _field_name(kind: str, text: str) -> str:
    if kind == "field":
        return text[1:]
    quoted = text[1:] if kind == "quoted_field" else text[2:-1].strip()
    name: str = json.loads(quoted)
    return name
