"""Messages evaluated per second (the event path's cost per message), generated rule vs Port's rule,
and the time `rules lint` takes on all of Port's example rule files.

    .venv/bin/python benchmarks/bench_rule_messages.py            # 5 runs of 400 messages per case
    .venv/bin/python benchmarks/bench_rule_messages.py --quick    # 3 runs of 100

A generated rule's message carries the event's values as fields and jq programs that read them, so
the programs' text is the same for every event and the jq worker compiles them once. Port's rules
write the values into the programs (`"<responseFunctionName>" != ""`), so every event brings new
programs that jq must compile. Both run through the same `parse_message` + `evaluate_message` as
the event path (sandboxed, time-limited worker). Figures are medians; the ratio is from one run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from port_aws_exporter.core.jq.worker import TimeLimitedJq
from port_aws_exporter.core.message import evaluate_message, parse_message
from port_aws_exporter.eventbridge.transformer import render_input
from port_aws_exporter.rules.generate import rule_for_kind
from port_aws_exporter.rules.lint import lint_template
from port_aws_exporter.rules.samples import sample_event

PORT_LAMBDA_PATHS = {
    "awsRegion": "$.detail.awsRegion",
    "eventName": "$.detail.eventName",
    "requestFunctionName": "$.detail.requestParameters.functionName",
    "requestResource": "$.detail.requestParameters.resource",
    "responseFunctionName": "$.detail.responseElements.functionName",
}
# Port's Lambda example (examples.md), the values written into the jq.
PORT_LAMBDA_TEMPLATE = (
    '{"resource_type": "AWS::Lambda::Function", "region": "\\"<awsRegion>\\"", '
    '"identifier": "if \\"<responseFunctionName>\\" != \\"\\" then \\"<responseFunctionName>\\" elif '
    '\\"<requestResource>\\" != \\"\\" then \\"<requestResource>\\" | split(\\":\\")[-1] else '
    '\\"<requestFunctionName>\\" end", '
    '"action": "if \\"<eventName>\\" | test(\\"DeleteFunction[^a-zA-Z]*$\\") then \\"delete\\" else \\"upsert\\" end"}'
)


def shared_examples() -> Path | None:
    """`../shared/reference/data/port-examples`, from the checkout or a worktree placed deeper."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "reference" / "data" / "port-examples"
        if candidate.is_dir():
            return candidate
    return None


def messages(count: int, paths: dict[str, str], template: str, run: int) -> list[str]:
    """`count` rendered messages for distinct functions (distinct values, as real traffic has)."""
    bodies = []
    for index in range(count):
        event = sample_event(
            "AWS::Lambda::Function",
            "UpdateFunctionCode20150331v2",
            identifier_values={"FunctionName": f"fn-{run}-{index}"},
        )
        rendered = render_input(paths, template, event, rule_name="r", rule_arn="arn:aws:events:eu-west-1:1:rule/r")
        assert rendered.body is not None
        bodies.append(rendered.body)
    return bodies


def rate(bodies: list[str], evaluator: TimeLimitedJq) -> float:
    start = time.perf_counter()
    for body in bodies:
        evaluate_message(parse_message(body), evaluator)
    return len(bodies) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs of 100 messages")
    options = parser.parse_args()
    runs, count = (3, 100) if options.quick else (5, 400)
    generated = rule_for_kind("AWS::Lambda::Function")
    cases = {
        "generated rule": (generated.input_paths_map, generated.input_template),
        "Port's rule": (PORT_LAMBDA_PATHS, PORT_LAMBDA_TEMPLATE),
    }
    results: dict[str, list[float]] = {name: [] for name in cases}
    with TimeLimitedJq() as evaluator:
        for run in range(runs):
            for name, (paths, template) in cases.items():
                # Fresh function names every run, as new events would bring.
                results[name].append(rate(messages(count, paths, template, run), evaluator))
        print(f"messages evaluated per second (median of {runs} runs of {count}), one worker:")
        for name, rates in results.items():
            print(f"  {name:15s} {statistics.median(rates):10,.0f}/s")
        ratio = [g / p for g, p in zip(results["generated rule"], results["Port's rule"], strict=True)]
        print(f"  ratio generated/Port: {statistics.median(ratio):.1f}x")
        examples = shared_examples()
        if examples is not None:
            files = sorted(examples.glob("*.rule.yaml"))
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                events = sum(lint_template(path, evaluator=evaluator).events for path in files)
                times.append(time.perf_counter() - start)
            print(
                f"rules lint of {len(files)} example files ({events} sample events): {statistics.median(times):.2f} s"
            )


if __name__ == "__main__":
    main()
