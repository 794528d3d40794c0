"""The exporter's CPU per resource in one process, against botocore's own floor for one GetResource.

    .venv/bin/python benchmarks/bench_process_cpu.py [--functions 5000] [--runs 3] [--messages 2000]
    .venv/bin/python benchmarks/bench_process_cpu.py --profile /tmp/profiles   # cProfile of one run each

In one run, each figure measured in a fresh child process (its own CPU time, every thread; the
local AWS endpoint and the local catalog run in processes of their own, reported apart):

- botocore's floor: one Cloud Control `GetResource` built, signed and parsed, with no network. A
  `before-send` handler on the client answers the request from memory with a canned response (a
  real GetResource answer of the local stack), so only botocore's own work is counted: request
  serialisation, SigV4 signing, the event hooks, the retry handler and response parsing. Measured
  with botocore's default client config, and with the exporter's (`aws.clients.AwsClients`: adaptive
  retries). A second figure sends the same request over a loopback socket to a process answering
  the canned response, which adds urllib3's cost, as every real read pays it.
- botocore alone against the local AWS (`--parts reads-only`): the full sync's ListResources and
  GetResource calls, with the exporter's clients and the sync's threads (regions at once, each read
  by `DEFAULT_READ_CONCURRENCY` threads), and nothing else: no mapping, no catalog. What the full
  sync with reads spends beyond this is the exporter's own.
- the full sync of `--functions` Lambda functions in two regions, each run into an emptied catalog
  (every entity written), with GetResource reads and with `selector.aws.useListProperties`: the
  sync's process CPU time per resource, resources/s, and the servers' CPU during it.
- the Port client alone (`--parts port`): `--port-requests` bulk upserts of 20 entities (the full
  sync's Lambda entities) into the local catalog, one after another: the client's CPU per request.
- the event path: `--messages` seed messages about `--event-functions` functions through the Lambda
  consumer (`events_handler`'s `EventsInvocation`, batches of 10, as `bench_events.py` feeds them):
  messages/s and CPU per message (the consumer's process and its jq worker process).

Prints medians over `--runs`, and the ratios of the exporter's CPU to the floor.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import http.server
import io
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.awsrequest import AWSResponse
from pydantic import SecretStr

from bench_events import BLUEPRINT as EVENT_BLUEPRINT
from bench_events import CONFIG as EVENT_CONFIG
from bench_events import Context, lambda_events
from bench_full_sync import BLUEPRINT, REGIONS, _config, _seed
from port_aws_exporter.aws.clients import AwsClients
from port_aws_exporter.aws.fetchers import fetcher_for
from port_aws_exporter.aws.identity import resolve_installation
from port_aws_exporter.core.config import load_config
from port_aws_exporter.lambda_runtime.events_invocation import EventsInvocation
from port_aws_exporter.lambda_runtime.warm_state import WarmState
from port_aws_exporter.port import PortClient, PortCredentials
from port_aws_exporter.sync.full_sync import DEFAULT_READ_CONCURRENCY, FullSync, SyncOptions
from served_process import cpu_seconds, served

CLIENT_ID, CLIENT_SECRET = "bench", "bench-secret"
FLOOR_REGION = "us-east-1"
LAMBDA_KIND = "AWS::Lambda::Function"
EVENT_PREFIX = "bench"


def _cpu() -> float:
    """This process's CPU seconds so far (every thread), and its waited-for children's."""
    return _own_cpu() + _children_cpu()


def _own_cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def _children_cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return children.ru_utime + children.ru_stime


def _profiled(profile_path: str | None, work: Callable[[], Any]) -> Any:
    """`work()`, under cProfile (CPU time per thread) in every thread it starts too (the readers, the Port writers) when
    `profile_path` is given: the merged statistics are written there."""
    if not profile_path:
        return work()
    profilers: list[cProfile.Profile] = []
    original_run = threading.Thread.run

    def profiled_run(thread: threading.Thread) -> None:
        profiler = cProfile.Profile(time.thread_time)
        profilers.append(profiler)
        profiler.runcall(original_run, thread)

    threading.Thread.run = profiled_run  # type: ignore[method-assign,assignment]
    main = cProfile.Profile(time.thread_time)
    try:
        return main.runcall(work)
    finally:
        threading.Thread.run = original_run  # type: ignore[method-assign]
        statistics_ = pstats.Stats(main)
        for profiler in profilers:
            with contextlib.suppress(TypeError):  # a thread still running has no statistics yet
                statistics_.add(profiler)
        statistics_.dump_stats(profile_path)


# -- children -----------------------------------------------------------------------------------


class _CannedBody:
    """What botocore reads a response body from (`AWSResponse.raw.stream()`)."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> list[bytes]:
        return [self._body]


def _floor_child(canned_path: str, calls: int, mode: str, endpoint: str) -> dict[str, Any]:
    """CPU seconds per GetResource: `mode` is `memory` (before-send answers) or `socket`; the client
    config is botocore's default, or the exporter's with `exporter-` before the mode."""
    canned = json.loads(Path(canned_path).read_text())
    body = json.dumps(canned["response"]).encode()
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "bench"}
    session = boto3.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name=FLOOR_REGION)
    if mode.startswith("exporter-"):
        client = AwsClients(session).client("cloudcontrol", FLOOR_REGION)
    else:
        client = session.client("cloudcontrol", region_name=FLOOR_REGION, endpoint_url=endpoint)
    if mode.endswith("memory"):

        def answer(request: Any, **_: Any) -> AWSResponse:
            return AWSResponse(request.url, 200, headers, _CannedBody(body))

        client.meta.events.register("before-send.cloudcontrol.GetResource", answer)
    identifier = canned["identifier"]
    for _ in range(50):  # warm: endpoint resolution, the first connection, lazily loaded models
        client.get_resource(TypeName=LAMBDA_KIND, Identifier=identifier)
    started = _cpu()
    for _ in range(calls):
        response = client.get_resource(TypeName=LAMBDA_KIND, Identifier=identifier)
    assert response["ResourceDescription"]["Identifier"] == identifier
    return {"cpu_per_call": (_cpu() - started) / calls}


def _sync_child(config_path: str, catalog_url: str, profile_path: str | None) -> dict[str, Any]:
    config = load_config(config_path)
    clients = AwsClients()
    installation = resolve_installation(clients.session)
    credentials = PortCredentials(client_id=CLIENT_ID, client_secret=SecretStr(CLIENT_SECRET), api_url=catalog_url)
    with PortClient(credentials, installation) as port:
        sync = FullSync(
            config,
            lambda spec: fetcher_for(spec, clients),
            port,
            installation.owned_entities_query,
            SyncOptions(default_region=REGIONS[0]),
        )
        cpu_before, started = _cpu(), time.monotonic()
        report = _profiled(profile_path, sync.run).report
        seconds, cpu = time.monotonic() - started, _cpu() - cpu_before
    return {"seconds": seconds, "cpu": cpu, "listed": report.listed, "written": report.written}


def _reads_only_child(profile_path: str | None) -> dict[str, Any]:
    """The sync's Cloud Control calls alone: list every function of each region and read each."""
    clients = AwsClients()

    def region_reads(region: str) -> int:
        client = clients.client("cloudcontrol", region)
        paginator = client.get_paginator("list_resources")
        read = 0
        with ThreadPoolExecutor(max_workers=DEFAULT_READ_CONCURRENCY) as readers:
            for page in paginator.paginate(TypeName=LAMBDA_KIND):
                identifiers = [description["Identifier"] for description in page["ResourceDescriptions"]]
                for response in readers.map(
                    lambda identifier: client.get_resource(TypeName=LAMBDA_KIND, Identifier=identifier), identifiers
                ):
                    read += bool(response["ResourceDescription"]["Properties"])
        return read

    for region in REGIONS:  # the clients made, as the sync makes them before its first read
        clients.client("cloudcontrol", region)

    def run() -> int:
        with ThreadPoolExecutor(max_workers=len(REGIONS)) as regions:
            return sum(regions.map(region_reads, REGIONS))

    cpu_before, started = _cpu(), time.monotonic()
    read = _profiled(profile_path, run)
    return {"seconds": time.monotonic() - started, "cpu": _cpu() - cpu_before, "listed": read, "written": read}


def _port_child(catalog_url: str, requests: int) -> dict[str, Any]:
    """CPU per 20-entity bulk upsert of the Port client, requests made one after another."""
    credentials = PortCredentials(client_id=CLIENT_ID, client_secret=SecretStr(CLIENT_SECRET), api_url=catalog_url)
    entities = [
        {
            "identifier": f"port-bench-{index:02d}",
            "title": f"port-bench-{index:02d}",
            "properties": {
                "arn": f"arn:aws:lambda:{FLOOR_REGION}:123456789012:function:port-bench-{index:02d}",
                "runtime": "python3.12",
                "memorySize": 128,
                "timeout": 3,
                "architectures": ["x86_64"],
            },
        }
        for index in range(20)
    ]
    installation = resolve_installation(AwsClients().session)
    blueprint = str(BLUEPRINT["identifier"])
    with PortClient(credentials, installation) as port:
        for _ in range(20):  # warm: the token, the connection
            port.bulk_upsert(blueprint, entities)
        started = _cpu()
        for _ in range(requests):
            results = port.bulk_upsert(blueprint, entities)
        cpu = _cpu() - started
    assert all(result.ok for result in results), results
    return {"cpu_per_request": cpu / requests}


def _events_child(functions: int, messages: int, seed: int, profile_path: str | None) -> dict[str, Any]:
    names = [f"{EVENT_PREFIX}-{index:05d}" for index in range(functions)]
    events = lambda_events(names, messages, seed)
    warm = WarmState()
    handler = EventsInvocation(warm)
    failed = 0

    def run() -> None:
        nonlocal failed
        with contextlib.redirect_stderr(io.StringIO()):
            for number, event in enumerate(events):
                failed += len(handler(event, Context(f"request-{number}"))["batchItemFailures"])

    own_before, children_before, started = _own_cpu(), _children_cpu(), time.monotonic()
    _profiled(profile_path, run)
    seconds = time.monotonic() - started
    own = _own_cpu() - own_before
    warm.reset()  # waits for the jq worker, so its CPU counts among this process's children
    jq_worker = _children_cpu() - children_before
    return {"seconds": seconds, "cpu": own + jq_worker, "jq_cpu": jq_worker, "messages": messages, "failed": failed}


def _child_main(arguments: list[str]) -> None:
    mode, *rest = arguments
    if mode == "floor":
        figures = _floor_child(rest[0], int(rest[1]), rest[2], rest[3])
    elif mode == "sync":
        figures = _sync_child(rest[0], rest[1], rest[2] or None)
    elif mode == "reads-only":
        figures = _reads_only_child(rest[0] or None)
    elif mode == "port":
        figures = _port_child(rest[0], int(rest[1]))
    else:
        figures = _events_child(int(rest[0]), int(rest[1]), int(rest[2]), rest[3] or None)
    print(json.dumps(figures))


# -- the parent ---------------------------------------------------------------------------------


def _child(arguments: list[str], env: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, __file__, "--child", *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the {arguments[0]} child failed: {result.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


class _CannedHandler(http.server.BaseHTTPRequestHandler):
    """Answers with the canned response in one write, without Nagle's delay (else each answer
    waits for the client's delayed ACK, and the client's CPU is measured over idle waits)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    answer = b""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.wfile.write(self.answer)

    def log_message(self, *_: Any) -> None:
        pass


def _canned_server_main(canned_path: str) -> None:
    """A loopback server answering every request with the canned GetResource response."""
    body = json.dumps(json.loads(Path(canned_path).read_text())["response"]).encode()
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
        f"x-amzn-RequestId: bench\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    _CannedHandler.answer = head.encode() + body
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CannedHandler)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


def _canned_response(aws_url: str, path: Path) -> None:
    client = boto3.client(
        "cloudcontrol",
        region_name=FLOOR_REGION,
        endpoint_url=aws_url,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    page = client.list_resources(TypeName=LAMBDA_KIND, MaxResults=1)
    identifier = page["ResourceDescriptions"][0]["Identifier"]
    response = client.get_resource(TypeName=LAMBDA_KIND, Identifier=identifier)
    response.pop("ResponseMetadata")
    path.write_text(json.dumps({"identifier": identifier, "response": response}))


def _floor_round(canned: Path, calls: int, env: dict[str, str], canned_url: str) -> dict[str, float]:
    """CPU seconds per GetResource of each floor variant, one fresh process each."""
    figures = {}
    for mode in ("memory", "exporter-memory"):
        figures[mode] = _child(["floor", str(canned), str(calls), mode, "http://127.0.0.1:9"], env)["cpu_per_call"]
    socket_env = {**env, "AWS_ENDPOINT_URL": canned_url}
    for mode in ("socket", "exporter-socket"):
        figures[mode] = _child(["floor", str(canned), str(calls), mode, canned_url], socket_env)["cpu_per_call"]
    return figures


@contextlib.contextmanager
def _canned_server(canned: Path) -> Iterator[str]:
    server = subprocess.Popen(
        [sys.executable, __file__, "--canned-server", str(canned)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        yield server.stdout.readline().strip()
    finally:
        server.terminate()
        server.wait(timeout=30)


def _token_headers(catalog_url: str) -> dict[str, str]:
    token = httpx.post(
        f"{catalog_url}/v1/auth/access_token", json={"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}
    )
    return {"Authorization": f"Bearer {token.json()['accessToken']}"}


def _sync_run(
    config_path: Path, expected: int, catalog_url: str, pids: tuple[int, int], env: dict[str, str], profile_path: str
) -> dict[str, Any]:
    """One full sync into an emptied catalog, in a fresh process."""
    httpx.delete(
        f"{catalog_url}/v1/blueprints/benchLambda/all-entities", headers=_token_headers(catalog_url), timeout=300
    )
    server_before = sum(cpu_seconds(pid) for pid in pids)
    figures = _child(["sync", str(config_path), catalog_url, profile_path], env)
    figures["server_cpu"] = sum(cpu_seconds(pid) for pid in pids) - server_before
    if figures["written"] != expected or figures["listed"] != expected:
        raise RuntimeError(f"incomplete sync: {figures}")
    return figures


def _reads_only_run(expected: int, pids: tuple[int, int], env: dict[str, str], profile_path: str) -> dict[str, Any]:
    """The sync's Cloud Control calls alone, in a fresh process."""
    server_before = sum(cpu_seconds(pid) for pid in pids)
    figures = _child(["reads-only", profile_path], env)
    figures["server_cpu"] = sum(cpu_seconds(pid) for pid in pids) - server_before
    if figures["listed"] != expected:
        raise RuntimeError(f"incomplete reads: {figures}")
    return figures


def _event_run(
    arguments: argparse.Namespace, run: int, pids: tuple[int, int], env: dict[str, str], profile_path: str
) -> dict[str, Any]:
    """One pass of the messages through a cold consumer, in a fresh process."""
    server_before = sum(cpu_seconds(pid) for pid in pids)
    figures = _child(["events", str(arguments.event_functions), str(arguments.messages), str(run), profile_path], env)
    figures["server_cpu"] = sum(cpu_seconds(pid) for pid in pids) - server_before
    if figures["failed"]:
        raise RuntimeError(f"messages failed: {figures}")
    return figures


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--functions", type=int, default=5000, help="Lambda functions synced (two regions)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--floor-calls", type=int, default=3000)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--event-functions", type=int, default=500)
    parser.add_argument("--port-requests", type=int, default=300, help="bulk upserts of the Port client's figure")
    parser.add_argument(
        "--parts", default="floor,reads-only,read,list,port,events", help="which figures to measure (comma-separated)"
    )
    parser.add_argument("--profile", type=Path, help="also write a cProfile of one more run of each to this folder")
    return parser.parse_args()


def main() -> None:
    arguments = _arguments()
    parts = set(arguments.parts.split(","))
    if arguments.profile:
        arguments.profile.mkdir(parents=True, exist_ok=True)

    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PORT_"))}
    with tempfile.TemporaryDirectory(prefix="bench-process-cpu-") as directory:
        workdir = Path(directory)
        serve_env = {**base, "PORT_CLIENT_ID": CLIENT_ID, "PORT_CLIENT_SECRET": CLIENT_SECRET}
        with (
            served(["local", "aws", "--port", "0"], base) as aws,
            served(["catalog", "serve", "--db", str(workdir / "catalog.db"), "--port", "0"], serve_env) as catalog,
        ):
            aws_env = {
                **base,
                "AWS_ENDPOINT_URL": aws.url,
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_DEFAULT_REGION": FLOOR_REGION,
                "AWS_REGION": FLOOR_REGION,
            }
            pids = (aws.pid, catalog.pid)
            # The sync lists every function of its regions, the event path's too: together, `--functions`.
            _seed(aws.url, arguments.functions - arguments.event_functions)
            created = httpx.post(
                f"{aws.url}/_local/bulk/lambda-functions",
                json={"count": arguments.event_functions, "region": FLOOR_REGION, "prefix": EVENT_PREFIX},
                timeout=300,
            ).json()
            assert created["created"] == arguments.event_functions, created
            canned = workdir / "canned.json"
            _canned_response(aws.url, canned)
            headers = _token_headers(catalog.url)
            for blueprint in (BLUEPRINT, EVENT_BLUEPRINT):
                httpx.post(f"{catalog.url}/v1/blueprints", json=blueprint, headers=headers, timeout=30)
            sync_configs = {}
            for variant, list_properties in (("read", False), ("list", True)):
                sync_configs[variant] = workdir / f"config-{variant}.json"
                sync_configs[variant].write_text(json.dumps(_config(list_properties)))
            events_config = workdir / "events-config.json"
            events_config.write_text(json.dumps(EVENT_CONFIG))
            event_env = {
                **aws_env,
                "PORT_CLIENT_ID": CLIENT_ID,
                "PORT_CLIENT_SECRET": CLIENT_SECRET,
                "PORT_API_URL": catalog.url,
                "PORT_AWS_EXPORTER_CONFIG": str(events_config),
                "LOG_LEVEL": "INFO",
            }
            floor: list[dict[str, float]] = []
            port_figures: list[float] = []
            results: dict[str, list[dict[str, Any]]] = {"reads-only": [], "read": [], "list": [], "events": []}
            with _canned_server(canned) as canned_url:
                # Rounds interleave the figures, so that each ratio compares measurements made close
                # in time on a shared machine; a last round profiles, when asked.
                for run in range(arguments.runs + (1 if arguments.profile else 0)):
                    profiling = arguments.profile is not None and run == arguments.runs
                    if "floor" in parts and not profiling:
                        floor.append(_floor_round(canned, arguments.floor_calls, base, canned_url))
                    if "port" in parts and not profiling:
                        port_child = _child(["port", catalog.url, str(arguments.port_requests)], aws_env)
                        port_figures.append(port_child["cpu_per_request"])
                    for variant, measured in results.items():
                        if variant not in parts:
                            continue
                        profile_path = str(arguments.profile / f"{variant}.prof") if profiling else ""
                        if variant == "events":
                            figures = _event_run(arguments, run, pids, event_env, profile_path)
                        elif variant == "reads-only":
                            figures = _reads_only_run(arguments.functions, pids, aws_env, profile_path)
                        else:
                            figures = _sync_run(
                                sync_configs[variant], arguments.functions, catalog.url, pids, aws_env, profile_path
                            )
                        if not profiling:
                            measured.append(figures)
    _print(arguments, floor, port_figures, results)


def _print(
    arguments: argparse.Namespace,
    floor: list[dict[str, float]],
    port_figures: list[float],
    results: dict[str, list[dict[str, Any]]],
) -> None:
    def ms(value: float) -> str:
        return f"{1000 * value:.3f} ms"

    print(f"process CPU, medians of {arguments.runs} rounds (each figure in a fresh process; ratios per round)")
    if floor:
        median = {mode: statistics.median(round_[mode] for round_ in floor) for mode in floor[0]}
        print(f"botocore floor, one GetResource ({arguments.floor_calls:,} calls):")
        print(f"  built, signed, parsed, answered from memory (before-send): {ms(median['memory'])}")
        print(f"    with the exporter's client config (adaptive retries):   {ms(median['exporter-memory'])}")
        print(f"  over a loopback socket to a canned answer (adds urllib3):  {ms(median['socket'])}")
        print(f"    with the exporter's client config:                       {ms(median['exporter-socket'])}")
    variants = (
        ("reads-only", "botocore alone against the local AWS (the sync's list and reads, nothing else)"),
        ("read", "full sync, GetResource reads"),
        ("list", "full sync, useListProperties"),
    )
    for variant, title in variants:
        runs = results[variant]
        if not runs:
            continue
        per_resource = [r["cpu"] / r["listed"] for r in runs]
        ratio = statistics.median(per_resource[n] / floor[n]["memory"] for n in range(len(runs))) if floor else None
        print(f"{title}, {arguments.functions:,} Lambda functions ({len(REGIONS)} regions):")
        shown_ratio = f" ({ratio:.2f}x the floor)" if ratio is not None else ""
        print(f"  process CPU per resource: {ms(statistics.median(per_resource))}{shown_ratio}")
        alone = results["reads-only"]
        if variant == "read" and len(alone) == len(runs):
            beyond = statistics.median(per_resource[n] - alone[n]["cpu"] / alone[n]["listed"] for n in range(len(runs)))
            print(f"  beyond botocore's own calls against the local AWS: {ms(beyond)}")
        rate = statistics.median(r["listed"] / r["seconds"] for r in runs)
        print(f"  resources/s: {rate:,.0f} ({statistics.median(r['seconds'] for r in runs):.1f} s per sync)")
        server = statistics.median(r["server_cpu"] / r["listed"] for r in runs)
        print(f"  servers' CPU per resource (local AWS + catalog, apart): {ms(server)}")
    if port_figures:
        per_request = statistics.median(port_figures)
        print(f"Port client, one bulk upsert of 20 entities ({arguments.port_requests:,} in a row):")
        print(f"  client CPU per request: {ms(per_request)} ({ms(per_request / 20)} per entity)")
    runs = results["events"]
    if runs:
        per_message = [r["cpu"] / r["messages"] for r in runs]
        ratio = statistics.median(per_message[n] / floor[n]["memory"] for n in range(len(runs))) if floor else None
        shown_ratio = f" ({ratio:.2f}x the floor)" if ratio is not None else ""
        print(f"event path, {arguments.messages:,} messages about {arguments.event_functions} functions:")
        print(f"  messages/s: {statistics.median(r['messages'] / r['seconds'] for r in runs):,.0f}")
        print(f"  exporter CPU per message (consumer + jq worker): {ms(statistics.median(per_message))}{shown_ratio}")
        print(f"    of which the jq worker process: {ms(statistics.median(r['jq_cpu'] / r['messages'] for r in runs))}")
        server = statistics.median(r["server_cpu"] / r["messages"] for r in runs)
        print(f"  servers' CPU per message: {ms(server)}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child_main(sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "--canned-server":
        _canned_server_main(sys.argv[2])
    else:
        main()
