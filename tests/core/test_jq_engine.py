"""The in-process jq engine: sandbox, first-output semantics, compile errors, caching."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from port_aws_exporter.core.jq.engine import (
    JqCompileError,
    JqRuntimeError,
    as_field,
    compile_program,
    first,
    is_single_output,
)

SECRET = "s3cr3t-value-that-must-not-leak"

# Every way local-aws-facts §6b found for a jq program to read the environment or files.
ESCAPE_ATTEMPTS = [
    "env.PORT_TEST_SECRET",
    "$ENV.PORT_TEST_SECRET",
    "env | tostring",
    "$ENV | tostring",
    "{$ENV} | tostring",
    "def x: $ENV; x | tostring",
    '"\\(env)"',
    "[env[]] | tostring",
    "$__loc__ | tostring",
    "get_search_list | tostring",
    "input_filename",
]


def _run_isolated(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_secret_in_the_environment_is_unreachable() -> None:
    # A fresh process with the secret set before jq is imported, as in Lambda.
    env = {**os.environ, "PORT_TEST_SECRET": SECRET}
    result = _run_isolated(
        f"""
        import json
        from port_aws_exporter.core.jq.engine import JqError, first
        for program in {ESCAPE_ATTEMPTS!r}:
            try:
                print(json.dumps(first(program, {{"a": 1}})))
            except JqError as error:
                print("error:", error.message)
            try:
                first("error(" + program + ")", {{"a": 1}})
            except JqError as error:
                print("error:", error.message)
        """,
        env,
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2 * len(ESCAPE_ATTEMPTS)
    assert SECRET not in result.stdout + result.stderr


def test_module_loading_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.json").write_text('{"token": "' + SECRET + '"}')
    (tmp_path / "evil.jq").write_text('def leak: "' + SECRET + '";')
    for program in (
        f'import "secret" as $s {{search: "{tmp_path}"}}; $s',
        f'include "evil" {{search: "{tmp_path}"}}; leak',
        f'import "evil" as e {{search: "{tmp_path}"}}; e::leak',
    ):
        with pytest.raises(JqCompileError) as raised:
            compile_program(program)
        assert SECRET not in raised.value.message
        assert "syntax error" in raised.value.message


@pytest.mark.parametrize(
    ("program", "message"),
    [
        ("input", "input is disabled"),
        ("[inputs]", "inputs is disabled"),
        ("halt", "halt is disabled"),
        ('"x" | halt_error', "halt_error is disabled"),
        ("halt_error(1)", "halt_error is disabled"),
    ],
)
def test_stdin_and_process_control_are_errors(program: str, message: str) -> None:
    with pytest.raises(JqRuntimeError, match=message):
        first(program, {})


def test_debug_and_stderr_pass_the_value_through_silently() -> None:
    assert first("debug | .a", {"a": 1}) == 1
    assert first('debug("m") | .a', {"a": 2}) == 2
    assert first("stderr | .a", {"a": 3}) == 3


def test_first_output_and_null_when_there_is_none() -> None:
    assert first(".a, .b", {"a": 1, "b": 2}) == 1
    assert first("empty", {}) is None
    assert first('.Tags[]? | select(.Key == "Name") | .Value', {"Tags": []}) is None
    assert first('.Tags[]? | select(.Key == "Name") | .Value', {"Tags": [{"Key": "Name", "Value": "web"}]}) == "web"


def test_runtime_errors_carry_jqs_message_and_the_expression() -> None:
    with pytest.raises(JqRuntimeError) as raised:
        first(".a.b", {"a": 5})
    assert raised.value.expression == ".a.b"
    assert raised.value.message == 'Cannot index number with string ("b")'


def test_compile_errors_count_lines_from_the_users_program() -> None:
    with pytest.raises(JqCompileError) as raised:
        compile_program(".a |\n| .b")
    assert "line 2" in raised.value.message
    assert "def env" not in raised.value.message


@pytest.mark.parametrize("bad", ["", "   ", "{", ".a +"])
def test_empty_and_malformed_expressions_are_compile_errors(bad: str) -> None:
    with pytest.raises(JqCompileError):
        compile_program(bad)


def test_compiled_programs_are_cached() -> None:
    assert compile_program(".cached_probe") is compile_program(".cached_probe")


@pytest.mark.parametrize(
    ("expression", "single"),
    [
        (".FunctionName", True),
        (".EphemeralStorage.Size", True),
        ('"https://console.aws.amazon.com/go/view?arn=" + .Arn', True),
        (".FifoQueue // false", True),
        (".Placement.AvailabilityZone[:-1]", True),
        ('."with-dash".x[0]', True),
        (".a, .b", False),
        (".a[]", False),
        (".[]", False),
        ("..", False),
        (".a?", False),
        (".a | .b", False),
        ('"\\(.a)"', False),
        ("$x", False),
        ("first(.a)", False),
        (".a # comment", False),
    ],
)
def test_single_output_detection_is_conservative(expression: str, single: bool) -> None:
    assert is_single_output(expression) is single


@pytest.mark.parametrize(
    "expression",
    [".a", ".a, .b", "empty", ".x[]?", ".a # trailing comment", "def f: .a; f", ".a as $x | $x"],
)
def test_as_field_is_first_output_or_null(expression: str) -> None:
    document = {"a": 1, "b": 2, "x": []}
    outputs = compile_program(expression).all(document)
    assert first(as_field(expression), document) == (outputs[0] if outputs else None)
