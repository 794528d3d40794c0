"""Mapping throughput and the overhead of time-limited jq.

    .venv/bin/python benchmarks/bench_mapping.py [--documents 10000] [--naive-sample 300] [--runs 5]

Prints, as medians of `--runs` runs made in this one process:
- entities/s mapping synthetic Cloud Control Lambda documents (JSON text, as Cloud Control returns
  `Properties`) with Port's `lambda.mapping.json`, as the exporter does it (its expressions are
  plain paths, so they run in the Python subset), and with the single jq program alone;
- entities/s the naive way, as the original exporter does it (`jq.first(expression, document)` per
  field: every expression compiled at every call), on a sample, and the ratio between the two;
- µs per evaluation of a seed-format message's three jq fields: in-process, and through the
  time-limited worker (`TimeLimitedJq`), whose difference is the worker's per-call overhead.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jq

from port_aws_exporter.core.config import load_config
from port_aws_exporter.core.jq.engine import compile_program
from port_aws_exporter.core.jq.worker import TimeLimitedJq
from port_aws_exporter.core.mapping import ResourceMapper

SHARED_EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "reference" / "data" / "port-examples"

SEED_MESSAGE = {
    "requestFunctionName": "orders-api",
    "responseFunctionName": "orders-api",
    "eventName": "CreateFunction20150331",
    "resource_type": "AWS::Lambda::Function",
    "region": '"eu-west-1"',
    "action": 'if .eventName | startswith("Delete") then "delete" else "upsert" end',
    "identifier": 'if .responseFunctionName != "" then .responseFunctionName else .requestFunctionName end',
}


def lambda_document(number: int) -> dict[str, Any]:
    """A Cloud Control `AWS::Lambda::Function` document of about 1.7 KB."""
    name = f"service-{number:05d}-handler"
    arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{name}"
    return {
        "FunctionName": name,
        "Arn": arn,
        "Description": f"Handles requests for service {number} " + "x" * 120,
        "MemorySize": 128 * (1 + number % 8),
        "EphemeralStorage": {"Size": 512},
        "Timeout": 3 + number % 60,
        "Runtime": ["python3.12", "nodejs20.x", "java21"][number % 3],
        "Handler": "app.handler",
        "PackageType": "Zip",
        "Role": f"arn:aws:iam::123456789012:role/{name}-role",
        "Architectures": ["arm64" if number % 2 else "x86_64"],
        "Environment": {"Variables": {"STAGE": "prod", "LOG_LEVEL": "info", "TABLE": f"table-{number}"}},
        "Layers": [f"arn:aws:lambda:eu-west-1:123456789012:layer:common:{number % 5}"],
        "TracingConfig": {"Mode": "PassThrough"},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"},
        "SnapStart": {"ApplyOn": "None"},
        "RuntimeManagementConfig": {"UpdateRuntimeOn": "Auto"},
        "Tags": [{"Key": "team", "Value": f"team-{number % 7}"}, {"Key": "env", "Value": "prod"}],
        "VpcConfig": {"SubnetIds": [], "SecurityGroupIds": []},
    }


def naive_entity(mapping: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    """The original exporter's way: `jq.first` per field, compiling every expression every call."""
    entity: dict[str, Any] = {"identifier": jq.first(mapping["identifier"], document)}
    if "title" in mapping:
        entity["title"] = jq.first(mapping["title"], document)
    entity["properties"] = {key: jq.first(expr, document) for key, expr in mapping["properties"].items()}
    return entity


def rate(work: Callable[[], int], runs: int) -> float:
    """Median items per second of `work` (which returns how many items it processed)."""
    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        items = work()
        rates.append(items / (time.perf_counter() - started))
    return statistics.median(rates)


def micros_per_call(work: Callable[[], object], calls: int, runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        for _ in range(calls):
            work()
        timings.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--naive-sample", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--config", type=Path, default=SHARED_EXAMPLES / "lambda.mapping.json")
    args = parser.parse_args()
    if not args.config.is_file():
        sys.exit(f"mapping config not found: {args.config} (give one with --config)")

    config_document = json.loads(args.config.read_text())
    entry = load_config(config_document).resources[0]
    mapper = ResourceMapper(entry, 0)
    jq_only = ResourceMapper(entry, 0, python_subset=False)
    mapping = config_document["resources"][0]["port"]["entity"]["mappings"][0]
    documents = [lambda_document(n) for n in range(args.documents)]
    texts = [json.dumps(document) for document in documents]
    sample = documents[: args.naive_sample]

    def map_all() -> int:
        return sum(len(mapper.map_text(text).entities) for text in texts)

    def map_all_with_jq() -> int:
        return sum(len(jq_only.map_text(text).entities) for text in texts)

    def map_naively() -> int:
        return len([naive_entity(mapping, document) for document in sample])

    assert [e.entity for e in mapper.map(sample[0]).entities] == [naive_entity(mapping, sample[0])]
    assert [e.entity for e in jq_only.map(sample[0]).entities] == [naive_entity(mapping, sample[0])]
    ours = rate(map_all, args.runs)
    ours_jq = rate(map_all_with_jq, args.runs)
    naive = rate(map_naively, max(1, args.runs // 2))

    fields = [SEED_MESSAGE["region"], SEED_MESSAGE["action"], SEED_MESSAGE["identifier"]]
    programs = [compile_program(field) for field in fields]
    message_text = json.dumps(SEED_MESSAGE)
    with TimeLimitedJq() as evaluator:
        evaluator.first_of_each(fields, value_text=message_text)
        in_process = micros_per_call(lambda: [p.first(SEED_MESSAGE) for p in programs], 2000, args.runs)
        worker = micros_per_call(lambda: evaluator.first_of_each(fields, value_text=message_text), 2000, args.runs)
        trivial = micros_per_call(lambda: evaluator.first(".", 1), 2000, args.runs)

    size = len(texts[0])
    path = "Python subset" if mapper.evaluated_in_python else "jq program"
    report = [
        f"documents: {args.documents:,} synthetic Lambda ({size} bytes of JSON each), runs: {args.runs}",
        f"mapping as the exporter does it ({path}): {ours:,.0f} entities/s",
        f"mapping with the single jq program per config entry: {ours_jq:,.0f} entities/s",
        f"naive (jq.first per field, compiled per call): {naive:,.0f} entities/s on {len(sample)} documents",
        f"speed-up over naive: {ours / naive:,.0f}x (jq program alone: {ours_jq / naive:,.0f}x)",
        f"seed message, 3 jq fields in-process: {in_process:,.0f} us per message",
        f"seed message, 3 jq fields in the time-limited worker: {worker:,.0f} us per message",
        f"time-limited worker overhead: {worker - in_process:,.0f} us per message "
        f"(a trivial program through the worker: {trivial:,.0f} us)",
    ]
    print("\n".join(report))


if __name__ == "__main__":
    main()
