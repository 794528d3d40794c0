"""Cloud Control emulator throughput: GetResource and ListResources calls per second.

One boto3 client, sequential calls over HTTP, against a local endpoint started in its own process
(`port-aws-exporter local aws`), seeded with N Lambda functions through the bulk route. Prints
medians of several runs, the server's own time per call (from `/_local/stats`), and, measured in the
same run for scale, moto's own `lambda:GetFunction` through the same endpoint.

    .venv/bin/python benchmarks/bench_cloudcontrol_emulator.py            # 2,000 functions, 5 runs
    .venv/bin/python benchmarks/bench_cloudcontrol_emulator.py --quick    # 500 functions, 3 short runs
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import boto3
import httpx
from botocore.config import Config

from served_process import served

LAMBDA = "AWS::Lambda::Function"
REGION = "us-east-1"


def timed_calls(call: Callable[[int], Any], count: int) -> float:
    """Seconds for `count` sequential calls."""
    started = time.perf_counter()
    for index in range(count):
        call(index)
    return time.perf_counter() - started


def server_seconds(url: str, part: str) -> tuple[int, float]:
    stats = httpx.get(f"{url}/_local/stats").json()
    return stats["requests"].get(part, 0), stats["seconds"].get(part, 0.0)


def measure(url: str, label: str, *, part: str, call: Callable[[int], Any], count: int, runs: int) -> float:
    """Median calls/s over `runs` runs of `count` calls; prints it with the server's time per call."""
    rates, server_ms = [], []
    for _ in range(runs):
        httpx.delete(f"{url}/_local/stats")
        seconds = timed_calls(call, count)
        requests, spent = server_seconds(url, part)
        rates.append(count / seconds)
        server_ms.append(1000 * spent / max(requests, 1))
    rate, server = statistics.median(rates), statistics.median(server_ms)
    print(
        f"{label:<38} {rate:>7.0f} calls/s   server {server:5.2f} ms/call, "
        f"client + HTTP {1000 / rate - server:5.2f} ms/call"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--functions", type=int, default=2000, help="Lambda functions to seed (default 2000)")
    parser.add_argument("--calls", type=int, default=300, help="GetResource calls per run (default 300)")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure; medians are printed (default 5)")
    parser.add_argument("--quick", action="store_true", help="500 functions, 100 calls, 3 runs")
    args = parser.parse_args()
    if args.quick:
        args.functions, args.calls, args.runs = 500, 100, 3

    with served(["local", "aws", "--port", "0"]) as endpoint:
        url = endpoint.url
        seeded = httpx.post(f"{url}/_local/bulk/lambda-functions", json={"count": args.functions}, timeout=600)
        seeded.raise_for_status()
        config = Config(retries={"mode": "standard", "total_max_attempts": 1})
        credentials = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}
        cc = boto3.client("cloudcontrol", region_name=REGION, endpoint_url=url, config=config, **credentials)
        lam = boto3.client("lambda", region_name=REGION, endpoint_url=url, config=config, **credentials)
        names = [f"bulk-fn-{index:05d}" for index in range(args.functions)]
        cc.get_resource(TypeName=LAMBDA, Identifier=names[0])  # warm up: imports, connections
        lam.get_function(FunctionName=names[0])

        print(f"{args.functions} Lambda functions; {args.runs} runs per figure; medians\n")
        get = measure(
            url,
            "GetResource",
            part="CloudApiService",
            call=lambda i: cc.get_resource(TypeName=LAMBDA, Identifier=names[i % len(names)]),
            count=args.calls,
            runs=args.runs,
        )
        moto = measure(
            url,
            "moto lambda:GetFunction (reference)",
            part="moto",
            call=lambda i: lam.get_function(FunctionName=names[i % len(names)]),
            count=args.calls,
            runs=args.runs,
        )

        pages_per_run = max(1, args.functions // 100)
        tokens: list[str | None] = [None]

        def list_page(index: int) -> None:
            kwargs: dict[str, Any] = {"TypeName": LAMBDA, "MaxResults": 100}
            if tokens[-1]:
                kwargs["NextToken"] = tokens[-1]
            tokens.append(cc.list_resources(**kwargs).get("NextToken"))

        pages = measure(
            url,
            "ListResources, 100 per page",
            part="CloudApiService",
            call=list_page,
            count=pages_per_run,
            runs=args.runs,
        )
        print(f"\nListResources: {pages:.0f} pages/s = {100 * pages:.0f} resources/s")
        print(f"GetResource is {get / moto:.1f}x as fast as moto's own lambda:GetFunction")


if __name__ == "__main__":
    main()
