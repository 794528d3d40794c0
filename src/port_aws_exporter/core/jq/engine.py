"""jq, sandboxed and cached.

Every program the exporter runs, whether it comes from `config.json` or from an event message, is
compiled with a prefix that shadows the builtins through which a jq program can reach outside its
input: the process environment (`env`, `$ENV`), module files (`import`/`include` become syntax
errors because they must come first), stdin (`input`, `inputs`) and process control
(`halt`, `halt_error`). See `../shared/reference/local-aws-facts.md` §6b for the probes behind it.

Compiling costs milliseconds with jq.py (it recompiles jq's builtin library each time), running a
compiled program tens of microseconds, so compiled programs are cached by source text.

Programs here run in-process and cannot be interrupted: use `core.jq.worker.TimeLimitedJq` for
programs that arrive in event messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jq

# One line, so that a user's line N is line N + 1 of the compiled text (see `_user_facing`).
SANDBOX_PREFIX = (
    "def env: {}; {} as $ENV | "
    'def input: error("input is disabled in port-aws-exporter"); '
    'def inputs: error("inputs is disabled in port-aws-exporter"); '
    'def halt: error("halt is disabled in port-aws-exporter"); '
    'def halt_error: error("halt_error is disabled in port-aws-exporter"); '
    'def halt_error($code): error("halt_error is disabled in port-aws-exporter"); '
    "def debug: .; def debug($message): .; def stderr: .; "
    "def input_filename: null; def get_search_list: [];\n"
)

_LINE_REFERENCE = re.compile(r"(<top-level>, line )(\d+)")
_PROGRAM_CACHE_SIZE = 4096


class JqError(Exception):
    """A jq program failed to compile or to run."""

    def __init__(self, expression: str, message: str) -> None:
        super().__init__(message)
        self.expression = expression
        self.message = message


class JqCompileError(JqError):
    """The expression is not valid jq."""


class JqRuntimeError(JqError):
    """The expression raised an error on its input."""


def _user_facing(message: str) -> str:
    """jq's message with line numbers counted from the user's program, not our prefix."""
    text = _LINE_REFERENCE.sub(lambda m: f"{m.group(1)}{max(int(m.group(2)) - 1, 1)}", message)
    return text.strip()


@dataclass(frozen=True)
class JqProgram:
    """A compiled, sandboxed jq program."""

    expression: str
    _compiled: Any

    def first(self, value: Any) -> Any:
        """The program's first output on `value`, or None when it outputs nothing.

        The original exporter used `jq.first`, which fails on a program with no output; mapping a
        missing value to null lets `title: .Tags[]? | select(.Key == "Name") | .Value` work on a
        resource without a Name tag instead of dropping the resource.
        """
        try:
            return self._compiled.input_value(value).first()
        except StopIteration:
            return None
        except ValueError as error:
            raise JqRuntimeError(self.expression, _user_facing(str(error))) from None

    def first_from_text(self, text: str) -> Any:
        """Like `first`, on a JSON document given as text (skips a Python → JSON round trip)."""
        try:
            return self._compiled.input_text(text).first()
        except StopIteration:
            return None
        except ValueError as error:
            raise JqRuntimeError(self.expression, _user_facing(str(error))) from None

    def all(self, value: Any) -> list[Any]:
        """Every output of the program on `value`."""
        try:
            return list(self._compiled.input_value(value).all())
        except ValueError as error:
            raise JqRuntimeError(self.expression, _user_facing(str(error))) from None


@lru_cache(maxsize=_PROGRAM_CACHE_SIZE)
def compile_program(expression: str) -> JqProgram:
    """Compile `expression` inside the sandbox; cached by text. Raises JqCompileError."""
    if not isinstance(expression, str):
        raise JqCompileError(repr(expression), f"a jq expression must be a string, not {type(expression).__name__}")
    if not expression.strip():
        raise JqCompileError(expression, "the jq expression is empty")
    try:
        compiled = jq.compile(SANDBOX_PREFIX + expression)
    except ValueError as error:
        raise JqCompileError(expression, _user_facing(str(error))) from None
    return JqProgram(expression, compiled)


def first(expression: str, value: Any) -> Any:
    """Compile (cached) and run `expression` on `value`; its first output or None."""
    return compile_program(expression).first(value)


# Tokens of expressions that always produce exactly one output (or an error): paths without `?`,
# `[]` or `..`, index and slice, literals without interpolation, arithmetic, comparison, `//`,
# `and`/`or`, parentheses. No pipe, comma, variable, function call or `?`.
_SINGLE_OUTPUT_TOKEN = re.compile(
    r"""\s+
    | \.(?:[A-Za-z_][A-Za-z0-9_]*|"(?:[^"\\]|\\[^(])*")?
    | \[\s*(?:-?\d+\s*(?::\s*(?:-?\d+\s*)?)?|:\s*-?\d+\s*)\]
    | "(?:[^"\\]|\\[^(])*"
    | -?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?
    | //|==|!=|<=|>=|[-+*/%<>()]
    | \b(?:null|true|false|and|or)\b
    """,
    re.VERBOSE,
)


def is_single_output(expression: str) -> bool:
    """True when `expression` is built only from tokens that yield exactly one output.

    Such expressions need no `first(…, null)` guard, which costs a label/break per field and halves
    the throughput of a mapping program. Conservative: anything unrecognised needs the guard.
    """
    if ".." in expression:  # recursive descent, or a path typo; either way not a plain path
        return False
    position = 0
    while position < len(expression):
        token = _SINGLE_OUTPUT_TOKEN.match(expression, position)
        if token is None or token.end() == position:
            return False
        position = token.end()
    return bool(expression.strip())


def as_field(expression: str) -> str:
    """`expression` as a sub-expression with the per-field semantics: first output, null if none.

    The newline keeps a trailing `# comment` in the user's expression from swallowing our closing
    parenthesis.
    """
    if is_single_output(expression):
        return f"({expression})"
    return f"first(({expression}\n), null)"
