"""Full sync on the local stack: throughput, calls per resource, memory, and the servers' share.

    .venv/bin/python benchmarks/bench_full_sync.py [--functions 10000] [--runs 3] [--rss-sizes 1000,10000,50000]

The local AWS endpoint and the local catalog run in their own processes (`port-aws-exporter local
aws`, `catalog serve`), so the exporter's memory and CPU are measured alone. Each sync runs in a
fresh child process, which reports its own peak RSS. Prints medians over `--runs` for
`--functions` Lambda functions split over two regions: resources/s, Port API calls per entity,
Cloud Control calls per resource, peak RSS; then peak RSS at each of `--rss-sizes`; and the CPU
seconds the two local servers spent during the syncs, against the wall time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from local_stack import catalog_headers, local_stack, run_json_child, sync_environment
from served_process import cpu_seconds

REGIONS = ("us-east-1", "eu-west-1")
BLUEPRINT = {
    "identifier": "benchLambda",
    "title": "Lambda function",
    "schema": {
        "properties": {
            "arn": {"type": "string"},
            "runtime": {"type": "string"},
            "memorySize": {"type": "number"},
            "timeout": {"type": "number"},
            "architectures": {"type": "array"},
            "tags": {"type": "array"},
            "link": {"type": "string"},
        }
    },
}
CONFIG = {
    "resources": [
        {
            "kind": "AWS::Lambda::Function",
            "selector": {"aws": {"regions": list(REGIONS)}},
            "port": {
                "entity": {
                    "mappings": [
                        {
                            "identifier": ".FunctionName",
                            "title": ".FunctionName",
                            "blueprint": "benchLambda",
                            "properties": {
                                "arn": ".Arn",
                                "runtime": ".Runtime",
                                "memorySize": ".MemorySize",
                                "timeout": ".Timeout",
                                "architectures": ".Architectures",
                                "tags": ".Tags",
                                "link": '"https://console.aws.amazon.com/go/view?arn=" + .Arn',
                            },
                        }
                    ]
                }
            },
        }
    ]
}

# The child: one full sync, reporting its own figures as one JSON line.
CHILD = """
import json, resource, sys, time
from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.fetchers import fetcher_for
from port_aws_exporter.aws.identity import resolve_installation
from port_aws_exporter.core.config import load_config
from port_aws_exporter.port import PortClient, PortCredentials
from port_aws_exporter.sync.full_sync import FullSync, SyncOptions
config = load_config(sys.argv[1])
clients = AwsClients()
installation = resolve_installation(clients.session)
credentials = PortCredentials(client_id=sys.argv[2], client_secret=sys.argv[3], api_url=sys.argv[4])
with PortClient(credentials, installation) as port:
    started = time.monotonic()
    report = FullSync(config, lambda s: fetcher_for(s, clients), port, installation.owned_entities_query,
                      SyncOptions(default_region="us-east-1")).run().report
    seconds = time.monotonic() - started
    counters = port.counters.snapshot()
rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "listed": report.listed, "written": report.written, "errors": report.error_count,
                  "deleted": report.deleted, "port": counters, "rss_mib": rss_kib / 1024}))
"""


def _seed(aws_url: str, total: int) -> None:
    per_region = total // len(REGIONS)
    for region in REGIONS:
        body = {"count": per_region, "region": region, "prefix": f"bench-{region}"}
        httpx.post(f"{aws_url}/_local/bulk/lambda-functions", json=body, timeout=900).raise_for_status()


def _cloudcontrol_requests(aws_url: str) -> int:
    stats = httpx.get(f"{aws_url}/_local/stats", timeout=30).json()
    return int(stats["requests"].get("CloudApiService", 0))


def _sync_once(config_path: Path, catalog: dict[str, str], env: dict[str, str]) -> dict[str, Any]:
    return run_json_child(CHILD, [str(config_path), catalog["id"], catalog["secret"], catalog["url"]], env)


def _config(list_properties: bool) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(json.dumps(CONFIG))
    config["resources"][0]["selector"]["aws"]["useListProperties"] = list_properties
    return config


def _measure(total: int, runs: int, workdir: Path, *, list_properties: bool = False) -> list[dict[str, Any]]:
    """`runs` full syncs of `total` functions, each into an emptied catalog; one dict per run."""
    secret = "bench-secret"
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(_config(list_properties)))
    db = workdir / f"catalog-{total}.db"
    with local_stack(db, secret=secret) as (aws, served_catalog):
        aws_url, catalog_url = aws.url, served_catalog.url
        _seed(aws_url, total)
        client_env = sync_environment(aws_url)
        catalog = {"id": "bench", "secret": secret, "url": catalog_url}
        headers = catalog_headers(catalog_url, secret=secret)
        httpx.post(f"{catalog_url}/v1/blueprints", json=BLUEPRINT, headers=headers, timeout=30)
        results = []
        for _ in range(runs):
            httpx.delete(f"{catalog_url}/v1/blueprints/benchLambda/all-entities", headers=headers, timeout=300)
            cc_before = _cloudcontrol_requests(aws_url)
            cpu_before = cpu_seconds(aws.pid) + cpu_seconds(served_catalog.pid)
            started = time.monotonic()
            figures = _sync_once(config_path, catalog, client_env)
            figures["wall"] = time.monotonic() - started
            figures["server_cpu"] = cpu_seconds(aws.pid) + cpu_seconds(served_catalog.pid) - cpu_before
            figures["cloudcontrol_calls"] = _cloudcontrol_requests(aws_url) - cc_before
            if figures["errors"] or figures["written"] != total:
                raise RuntimeError(f"incomplete sync: {figures}")
            results.append(figures)
        return results


def _median(results: list[dict[str, Any]], key: str) -> float:
    return statistics.median(float(result[key]) for result in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--functions", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rss-sizes", default="1000,10000,50000", help="comma-separated; empty to skip")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-full-sync-") as tmp:
        workdir = Path(tmp)
        results = _measure(args.functions, args.runs, workdir)
        for result in results:
            result["port_calls"] = sum(result["port"]["requests"].values()) - result["port"]["requests"].get("auth", 0)
        resources_per_second = statistics.median(r["listed"] / r["seconds"] for r in results)
        port_per_entity = statistics.median(r["port_calls"] / r["written"] for r in results)
        cc_per_resource = statistics.median(r["cloudcontrol_calls"] / r["listed"] for r in results)
        print(
            f"full sync of {args.functions:,} Lambda functions in {len(REGIONS)} regions, {args.runs} runs (medians):"
        )
        print(f"  resources/s: {resources_per_second:,.0f} ({_median(results, 'seconds'):.1f} s per sync)")
        print(
            f"  Port API calls per entity: {port_per_entity:.3f} (target <= 0.06); auth calls per run: "
            f"{statistics.median(r['port']['requests'].get('auth', 0) for r in results):.0f}"
        )
        print(f"  Cloud Control calls per resource: {cc_per_resource:.3f}")
        print(f"  peak RSS of the exporter: {_median(results, 'rss_mib'):.0f} MiB")
        share = statistics.median(r["server_cpu"] / r["wall"] for r in results)
        print(
            f"  local servers' CPU during the sync: {_median(results, 'server_cpu'):.1f} s of "
            f"{_median(results, 'wall'):.1f} s wall ({share:.0%} of wall; 2 cores)"
        )
        listing = _measure(args.functions, args.runs, workdir, list_properties=True)
        listing_rate = statistics.median(r["listed"] / r["seconds"] for r in listing)
        listing_calls = statistics.median(r["cloudcontrol_calls"] / r["listed"] for r in listing)
        print(
            f"  with selector.aws.useListProperties (no GetResource): {listing_rate:,.0f} resources/s, "
            f"{listing_calls:.3f} Cloud Control calls per resource"
        )
        sizes = [int(size) for size in args.rss_sizes.split(",") if size.strip()]
        rss = {}
        for size in sizes:
            [single] = _measure(size, 1, workdir)
            rss[size] = single["rss_mib"]
            print(f"  peak RSS at {size:,} resources: {single['rss_mib']:.0f} MiB ({single['seconds']:.1f} s)")
        if len(rss) >= 2:
            smallest, largest = min(rss), max(rss)
            print(f"  RSS growth from {smallest:,} to {largest:,}: {rss[largest] / rss[smallest]:.2f}x (target < 2x)")


if __name__ == "__main__":
    main()
