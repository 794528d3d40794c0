"""Change-only full sync on the local stack: a first sync, then a second of the unchanged estate.

    .venv/bin/python benchmarks/bench_change_only.py [--functions 10000] [--rss-sizes 1000,50000]
        [--port-latency-ms 0,100]

Prints, for `--functions` Lambda functions in two regions, with GetResource reads and with
`selector.aws.useListProperties`, both syncs run in one child process: Port write requests per
entity on the second run (target <= 0.002; the reads of the owned entities reported apart), and
the wall-time ratio first/second (targets >= 3x with reads, >= 10x with useListProperties). Then,
at each of `--rss-sizes`, the peak RSS (ru_maxrss) of each sync, each run in a child process of
its own (target: at the largest size < 2x that at the smallest).

The local catalog answers a bulk write in a few milliseconds, where Port's API is a round trip
away: `--port-latency-ms` repeats the wall-time figures with that much latency added by the local
catalog before every answer (its fault settings), a stated assumption, not a measurement of Port.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import httpx

from bench_full_sync import BLUEPRINT, _config, _seed
from local_stack import catalog_headers, local_stack, run_json_child, sync_environment

# The child: `argv[5]` syncs in one process (a first and a second, unchanged one; or one alone);
# its figures as one JSON line.
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
    for _ in range(int(sys.argv[5])):
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


def _syncs(
    total: int, workdir: Path, *, list_properties: bool, children: list[int], latency_ms: float = 0.0
) -> list[dict[str, Any]]:
    """Syncs of `total` functions into one catalog: a child process per entry of `children`, running
    that many syncs one after the other; the figures of each child."""
    secret = "bench-secret"
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(_config(list_properties)))
    db = workdir / f"catalog-{total}-{list_properties}.db"
    db.unlink(missing_ok=True)
    figures = []
    with local_stack(db, secret=secret) as (aws, catalog):
        _seed(aws.url, total)
        headers = catalog_headers(catalog.url, secret=secret)
        httpx.post(f"{catalog.url}/v1/blueprints", json=BLUEPRINT, headers=headers, timeout=30).raise_for_status()
        if latency_ms:
            latency = {"latency_seconds": latency_ms / 1000, "include_auth": False}
            httpx.put(f"{catalog.url}/_local/faults", json=latency, timeout=30).raise_for_status()
        for syncs in children:
            arguments = [str(config_path), "bench", secret, catalog.url, str(syncs)]
            figures.append(run_json_child(CHILD, arguments, sync_environment(aws.url)))
    runs = [run for child in figures for run in child["runs"]]
    if any(run["errors"] for run in runs) or runs[0]["written"] != total or runs[-1]["written"]:
        raise RuntimeError(f"incomplete sync, or a second one that wrote: {figures}")
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
    parser.add_argument(
        "--port-latency-ms", default="0", help="comma-separated latencies the local catalog adds to every answer"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-change-only-") as tmp:
        workdir = Path(tmp)
        for latency_ms in [float(latency) for latency in args.port_latency_ms.split(",") if latency.strip()]:
            suffix = f", {latency_ms:g} ms added to every Port answer" if latency_ms else ""
            for list_properties, label in (
                (False, "with GetResource reads (target >= 3x)"),
                (True, "with useListProperties (target >= 10x)"),
            ):
                [figures] = _syncs(
                    args.functions, workdir, list_properties=list_properties, children=[2], latency_ms=latency_ms
                )
                _report(label + suffix, args.functions, figures)
        rss: dict[int, tuple[float, float]] = {}
        for size in [int(size) for size in args.rss_sizes.split(",") if size.strip()]:
            first, second = _syncs(size, workdir, list_properties=False, children=[1, 1])
            rss[size] = (first["rss_mib"], second["rss_mib"])
            print(
                f"peak RSS at {size:,} resources, each sync in its own process: first {rss[size][0]:.0f} MiB, "
                f"second (unchanged) {rss[size][1]:.0f} MiB"
            )
        if len(rss) >= 2:
            smallest, largest = min(rss), max(rss)
            ratios = [rss[largest][run] / rss[smallest][run] for run in (0, 1)]
            print(
                f"  RSS {largest:,} vs {smallest:,}: first sync {ratios[0]:.2f}x, second {ratios[1]:.2f}x (target < 2x)"
            )


if __name__ == "__main__":
    main()
