"""Change-only full sync on the local stack: a first sync, then a second of the unchanged estate,
both in one child process.

    .venv/bin/python benchmarks/bench_change_only.py [--functions 10000] [--rss-sizes 1000,50000]

Prints, for `--functions` Lambda functions in two regions, with GetResource reads and with
`selector.aws.useListProperties`: Port write requests per entity on the second run (target
<= 0.002; the reads of the owned entities reported apart), and the wall-time ratio first/second
(targets >= 3x with reads, >= 10x with useListProperties); then the child's peak RSS (ru_maxrss,
both runs) at each of `--rss-sizes` (target: the largest < 2x the smallest).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from bench_full_sync import BLUEPRINT, _config, _seed
from served_process import served

# The child: a first sync and a second, unchanged one, in one process; its figures as one JSON line.
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
runs = []
with PortClient(credentials, installation) as port:
    for _ in range(2):
        before = dict(port.counters.snapshot()["requests"])
        started = time.monotonic()
        report = FullSync(config, lambda s: fetcher_for(s, clients), port, installation.owned_entities_query,
                          SyncOptions(default_region="us-east-1")).run().report
        seconds = time.monotonic() - started
        after = port.counters.snapshot()["requests"]
        requests = {kind: count - before.get(kind, 0) for kind, count in after.items()}
        runs.append({"seconds": seconds, "listed": report.listed, "written": report.written,
                     "unchanged": report.unchanged, "errors": report.error_count, "requests": requests})
rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"runs": runs, "rss_mib": rss_kib / 1024}))
"""

WRITE_KINDS = ("entity_bulk_upsert", "entity_upsert", "entity_bulk_delete", "entity_delete")


def _first_and_second(total: int, workdir: Path, *, list_properties: bool) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PORT_"))}
    secret = "bench-secret"
    serve_env = {**env, "PORT_CLIENT_ID": "bench", "PORT_CLIENT_SECRET": secret}
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(_config(list_properties)))
    db = workdir / f"catalog-{total}-{list_properties}.db"
    with (
        served(["local", "aws", "--port", "0"], env) as aws,
        served(["catalog", "serve", "--db", str(db), "--port", "0"], serve_env) as catalog,
    ):
        _seed(aws.url, total)
        token = httpx.post(f"{catalog.url}/v1/auth/access_token", json={"clientId": "bench", "clientSecret": secret})
        headers = {"Authorization": f"Bearer {token.json()['accessToken']}"}
        httpx.post(f"{catalog.url}/v1/blueprints", json=BLUEPRINT, headers=headers, timeout=30).raise_for_status()
        client_env = {
            **env,
            "AWS_ENDPOINT_URL": aws.url,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        result = subprocess.run(
            [sys.executable, "-c", CHILD, str(config_path), "bench", secret, catalog.url],
            env=client_env,
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
    if result.returncode != 0:
        raise RuntimeError(f"the sync child failed: {result.stderr[-2000:]}")
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    first, second = figures["runs"]
    if first["errors"] or second["errors"] or first["written"] != total:
        raise RuntimeError(f"incomplete sync: {figures}")
    return figures


def _report(label: str, total: int, figures: dict[str, Any]) -> None:
    first, second = figures["runs"]
    writes = sum(second["requests"].get(kind, 0) for kind in WRITE_KINDS)
    reads = second["requests"].get("search_page", 0)
    print(f"{label}, {total:,} functions:")
    print(
        f"  second run: {second['written']} written, {second['unchanged']:,} unchanged; "
        f"{writes} Port write requests = {writes / total:.4f} per entity (target <= 0.002); "
        f"{reads} owned-entity search pages read (apart)"
    )
    print(
        f"  wall time: first {first['seconds']:.1f} s, second {second['seconds']:.1f} s, "
        f"ratio {first['seconds'] / second['seconds']:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--functions", type=int, default=10_000)
    parser.add_argument("--rss-sizes", default="1000,50000", help="comma-separated; empty to skip")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-change-only-") as tmp:
        workdir = Path(tmp)
        reads = _first_and_second(args.functions, workdir, list_properties=False)
        _report("with GetResource reads (target >= 3x)", args.functions, reads)
        listing = _first_and_second(args.functions, workdir, list_properties=True)
        _report("with useListProperties (target >= 10x)", args.functions, listing)
        rss = {}
        for size in [int(size) for size in args.rss_sizes.split(",") if size.strip()]:
            rss[size] = _first_and_second(size, workdir, list_properties=False)["rss_mib"]
            print(f"  peak RSS of the child (first + second run) at {size:,} resources: {rss[size]:.0f} MiB")
        if len(rss) >= 2:
            smallest, largest = min(rss), max(rss)
            print(f"  RSS {largest:,} vs {smallest:,}: {rss[largest] / rss[smallest]:.2f}x (target < 2x)")


if __name__ == "__main__":
    main()
