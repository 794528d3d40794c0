"""A whole organisation vs one account, on the local stack: the same 10,000 Lambda functions.

    .venv/bin/python benchmarks/bench_accounts.py [--accounts 20] [--functions 250] [--runs 3] [--concurrency N]

Two local AWS endpoints and one local catalog run in their own processes. One endpoint holds an
organisation of `--accounts` accounts (the management account and members, each with the read
role) with `--functions` functions in each of two regions of every account; the other holds the
same number of functions in one account. Each sync runs in a fresh child process (so it reports
its own peak RSS), into an emptied catalog, the two kinds of run taking turns. Prints medians: the
wall time of each and their ratio (target <= 1.3x: accounts run concurrently), AssumeRole calls
per account per run (target 1), and the peak RSS of each.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

import httpx

from local_stack import run_json_child, seed_lambda_functions, seed_lambda_organization, sync_environment
from served_process import served

REGIONS = ("us-east-1", "eu-west-1")
BLUEPRINT = {
    "identifier": "benchLambda",
    "title": "Lambda function",
    "schema": {"properties": {"arn": {"type": "string"}, "runtime": {"type": "string"}, "account": {"type": "string"}}},
}
MAPPING = {
    "identifier": ".FunctionName",
    "title": ".FunctionName",
    "blueprint": "benchLambda",
    "properties": {"arn": ".Arn", "runtime": ".Runtime", "account": ".__AccountId"},
}

# The child: one full sync (with `accounts`, the organisation's), reporting its figures as one JSON line.
CHILD = """
import json, resource, sys, time
from port_aws_exporter.aws.account_sessions import AccountSessions, RoleSettings
from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.fetchers import fetcher_for
from port_aws_exporter.aws.identity import resolve_identity
from port_aws_exporter.cli.organization import run_organization_sync
from port_aws_exporter.core.config import load_config
from port_aws_exporter.port import PortClient, PortCredentials
from port_aws_exporter.sync.full_sync import FullSync, SyncOptions
config = load_config(sys.argv[1])
clients = AwsClients()
caller = resolve_identity(clients.session)
installation = caller.installation
credentials = PortCredentials(client_id=sys.argv[2], client_secret=sys.argv[3], api_url=sys.argv[4])
assumed = {}
with PortClient(credentials, installation) as port:
    started = time.monotonic()
    if config.accounts is None:
        report = FullSync(config, lambda s: fetcher_for(s, clients, installation.account_id), port,
                          installation.owned_entities_query, SyncOptions(default_region="us-east-1")).run().report
        accounts = 1
    else:
        sessions = AccountSessions(clients, caller, RoleSettings.of(config.accounts))
        report = run_organization_sync(config, clients, caller, port, SyncOptions(default_region="us-east-1"),
                                       sessions=sessions)
        accounts = len(report.accounts)
        assumed = sessions.assume_role_calls()
    seconds = time.monotonic() - started
    port_requests = port.counters.snapshot()["requests"]
rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "listed": report.listed, "written": report.written, "errors": report.error_count,
                  "accounts": accounts, "assumed": assumed, "port_requests": port_requests, "rss_mib": rss_kib / 1024}))
"""


def _config(accounts: bool, concurrency: int | None) -> dict[str, Any]:
    entry = {
        "kind": "AWS::Lambda::Function",
        "selector": {"aws": {"regions": list(REGIONS)}},
        "port": {"entity": {"mappings": [MAPPING]}},
    }
    config: dict[str, Any] = {"resources": [entry]}
    if accounts:
        config["accounts"] = {"organization": {}}
        if concurrency is not None:
            config["accounts"]["concurrency"] = concurrency
    return config


def _sync(config: Path, catalog: dict[str, str], aws_url: str) -> dict[str, Any]:
    arguments = [str(config), catalog["id"], catalog["secret"], catalog["url"]]
    return run_json_child(CHILD, arguments, sync_environment(aws_url))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--functions", type=int, default=250, help="per account and region")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=None, help="accounts.concurrency (default: the config's)")
    args = parser.parse_args()
    total = args.accounts * len(REGIONS) * args.functions
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PORT_"))}
    secret = "bench-secret"
    with tempfile.TemporaryDirectory(prefix="bench-accounts-") as tmp:
        workdir = Path(tmp)
        configs = {}
        for name, accounts in (("one account", False), ("organisation", True)):
            configs[name] = workdir / f"{name.replace(' ', '-')}.json"
            configs[name].write_text(json.dumps(_config(accounts, args.concurrency)))
        with (
            served(["local", "aws", "--port", "0"], env) as single_aws,
            served(["local", "aws", "--port", "0"], env) as org_aws,
            served(
                ["catalog", "serve", "--db", str(workdir / "catalog.db"), "--port", "0"],
                {**env, "PORT_CLIENT_ID": "bench", "PORT_CLIENT_SECRET": secret},
            ) as catalog_server,
        ):
            seed_lambda_functions(single_aws.url, None, total // len(REGIONS), "bench-single", REGIONS)
            seed_lambda_organization(org_aws.url, args.accounts, args.functions, REGIONS)
            catalog = {"id": "bench", "secret": secret, "url": catalog_server.url}
            token = httpx.post(
                f"{catalog_server.url}/v1/auth/access_token", json={"clientId": "bench", "clientSecret": secret}
            ).json()["accessToken"]
            headers = {"Authorization": f"Bearer {token}"}
            httpx.post(f"{catalog_server.url}/v1/blueprints", json=BLUEPRINT, headers=headers, timeout=30)
            results: dict[str, list[dict[str, Any]]] = {name: [] for name in configs}
            for _ in range(args.runs):
                for name, aws_url in (("one account", single_aws.url), ("organisation", org_aws.url)):
                    url = f"{catalog_server.url}/v1/blueprints/benchLambda/all-entities"
                    httpx.delete(url, headers=headers, timeout=600)
                    figures = _sync(configs[name], catalog, aws_url)
                    if figures["errors"] or figures["written"] != total:
                        raise RuntimeError(f"incomplete {name} sync: {figures}")
                    results[name].append(figures)
    single, org = results["one account"], results["organisation"]
    single_seconds = statistics.median(r["seconds"] for r in single)
    org_seconds = statistics.median(r["seconds"] for r in org)
    ratios = [o["seconds"] / s["seconds"] for s, o in zip(single, org, strict=True)]
    assumed = [calls for r in org for calls in r["assumed"].values()]
    members = args.accounts - 1
    print(
        f"{total:,} Lambda functions: {args.accounts} accounts x {len(REGIONS)} regions x {args.functions} "
        f"vs one account, {args.runs} runs each, taking turns (medians):"
    )
    print(f"  one account:  {single_seconds:.1f} s, peak RSS {statistics.median(r['rss_mib'] for r in single):.0f} MiB")
    print(f"  organisation: {org_seconds:.1f} s, peak RSS {statistics.median(r['rss_mib'] for r in org):.0f} MiB")
    print(f"  wall-time ratio organisation / one account: {statistics.median(ratios):.2f}x (target <= 1.3x)")
    print(
        f"  AssumeRole calls per member account per run: median {statistics.median(assumed) if assumed else 0:.0f}, "
        f"max {max(assumed, default=0)} over {members} members x {args.runs} runs (target 1; the home account uses "
        "its own credentials)"
    )
    searches = statistics.median(r["port_requests"].get("search_page", 0) for r in org)
    print(f"  Port search pages per organisation run: {searches:.0f} (stale deletion per account and blueprint)")


if __name__ == "__main__":
    main()
