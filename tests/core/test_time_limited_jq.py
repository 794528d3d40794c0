"""Untrusted jq (from event messages) runs in a worker process with a time limit."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from port_aws_exporter.core.jq.worker import JqOutcome, JqWorkerStartError, TimeLimitedJq
from port_aws_exporter.lambda_runtime.settings import jq_memory_limit_bytes as default_memory_limit

SECRET = "another-s3cr3t-that-must-not-leak"


@pytest.fixture(scope="module")
def evaluator() -> Iterator[TimeLimitedJq]:
    with TimeLimitedJq(timeout_seconds=1.0, workers=2, memory_limit_bytes=512 << 20) as jq_evaluator:
        yield jq_evaluator


def test_first_outputs_of_several_expressions_in_one_round_trip(evaluator: TimeLimitedJq) -> None:
    message = {
        "eventName": "DeleteFunction20150331",
        "requestFunctionName": "fn-a",
        "responseFunctionName": "",
    }
    outcomes = evaluator.first_of_each(
        [
            '"us-east-1"',
            'if .eventName | startswith("Delete") then "delete" else "upsert" end',
            'if .responseFunctionName != "" then .responseFunctionName else .requestFunctionName end',
            "empty",
        ],
        message,
    )
    assert [o.value for o in outcomes] == ["us-east-1", "delete", "fn-a", None]
    assert all(o.ok for o in outcomes)


def test_errors_stay_with_their_expression(evaluator: TimeLimitedJq) -> None:
    outcomes = evaluator.first_of_each([".a", ".a.b", "eu-west-1", ".a +"], {"a": 5})
    assert outcomes[0].ok and outcomes[0].value == 5
    assert not outcomes[1].ok and outcomes[1].error == 'Cannot index number with string ("b")'
    assert not outcomes[2].ok and "west/0 is not defined" in (outcomes[2].error or "")
    assert not outcomes[3].ok and "syntax error" in (outcomes[3].error or "")


def test_input_given_as_text_with_newlines(evaluator: TimeLimitedJq) -> None:
    body = '{\n\t"resource_type": "AWS::Lambda::Function",\n  "region": "\\"eu-west-1\\""\n}'
    outcome = evaluator.first_of_each([".region", ".resource_type"], value_text=body)
    assert [o.value for o in outcome] == ['"eu-west-1"', "AWS::Lambda::Function"]


@pytest.mark.parametrize("program", ["[range(1e9)]", "last(range(1e10))", "def f: f; f", "repeat(.) | empty"])
def test_runaway_programs_time_out_and_the_next_evaluation_succeeds(evaluator: TimeLimitedJq, program: str) -> None:
    started = time.monotonic()
    outcome = evaluator.first(program, {"a": 1})
    elapsed = time.monotonic() - started
    assert not outcome.ok
    assert outcome.error == "jq evaluation exceeded its time limit of 1 s"
    assert elapsed < 5
    assert evaluator.first(".a", {"a": 1}).value == 1


def test_starting_a_worker_does_not_count_against_the_time_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker finds its package through the parent's sys.path: a `sitecustomize` there makes its
    # start-up as slow as a busy machine can (1 s), twice the time limit of the evaluation.
    (tmp_path / "sitecustomize.py").write_text("import time\ntime.sleep(1.0)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with TimeLimitedJq(timeout_seconds=0.5) as slow_to_start:
        assert slow_to_start.first(".a", {"a": 1}) == JqOutcome(ok=True, value=1)
        assert slow_to_start.restarts == 0


def test_a_worker_that_cannot_start_raises_instead_of_failing_the_program(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sitecustomize.py").write_text("raise SystemExit(3)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with TimeLimitedJq() as broken, pytest.raises(JqWorkerStartError, match="did not start"):
        broken.first(".a", {"a": 1})


def test_a_program_that_crashes_the_worker_fails_alone(evaluator: TimeLimitedJq) -> None:
    outcome = evaluator.first("def f: 1 + f; f", {})
    assert not outcome.ok
    assert outcome.error in {
        "jq evaluation crashed (out of memory or recursion too deep)",
        "jq evaluation exceeded its time limit of 1 s",
    }
    assert evaluator.first(".b", {"b": "still serving"}).value == "still serving"


def test_the_worker_cannot_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    with TimeLimitedJq(timeout_seconds=2.0) as fresh:
        outcomes = fresh.first_of_each(
            ["env | tostring", "$ENV | tostring", "error(env.AWS_SECRET_ACCESS_KEY)", "input", "halt"], {}
        )
    rendered = json.dumps([o.__dict__ for o in outcomes])
    assert SECRET not in rendered
    assert [o.value for o in outcomes[:2]] == ["{}", "{}"]
    assert not outcomes[3].ok and not outcomes[4].ok


def test_concurrent_callers_get_their_own_answers(evaluator: TimeLimitedJq) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda n: evaluator.first(".n * 2", {"n": n}).value, range(40)))
    assert answers == [n * 2 for n in range(40)]


def test_lambda_memory_bounds_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "2048")
    assert default_memory_limit() == 512 << 20
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
    assert default_memory_limit() == 256 << 20
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    assert default_memory_limit() == 1 << 30
    assert "AWS_LAMBDA_FUNCTION_MEMORY_SIZE" not in os.environ


@pytest.mark.parametrize(
    ("text", "jq_says"),
    [
        # A lone high surrogate: Python's JSON reader takes it, jq's does not.
        ('{"a": "\\ud800", "b": 1}', "Invalid \\uXXXX\\uXXXX surrogate pair escape"),
        ("[" * 10_001 + "]" * 10_001, "Exceeds depth limit for parsing"),
    ],
)
def test_an_input_jq_cannot_read_fails_that_request_and_the_worker_serves_on(
    evaluator: TimeLimitedJq, text: str, jq_says: str
) -> None:
    restarts = evaluator.restarts
    outcomes = evaluator.first_of_each([".a", ".b"], value_text=text)
    assert [(o.ok, o.input_error) for o in outcomes] == [(False, True), (False, True)]
    assert all(o.error is not None and o.error.startswith("parse error: ") and jq_says in o.error for o in outcomes)
    assert evaluator.restarts == restarts  # the worker did not die
    assert evaluator.first(".b", {"b": "still serving"}).value == "still serving"
