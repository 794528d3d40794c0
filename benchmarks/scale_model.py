"""The written model of a sharded full sync past this machine: wall time and cost for 1 and 10 million
resources on AWS Lambda + SQS, from this project's measured figures and AWS's and Port's published
limits and prices. It runs nothing; it prints the arithmetic, so every figure in the README's model
can be recomputed and every assumption changed.

    .venv/bin/python benchmarks/scale_model.py [--read-latency-ms 100] [--concurrency 100] [--json]

Three kinds of input, kept apart in the output:

- measured here (`bench_sharded_sync.py`, `bench_sharded.py`, `bench_process_cpu.py`): the
  exporter's CPU per resource (GetResource reads and `useListProperties`) and the bookkeeping
  calls per shard;
- published: Lambda's 15-minute timeout, 1,000 concurrent executions per region by default and an
  SQS event source mapping that starts at 5 concurrent batches and adds up to 300 a minute (at most
  1,000); Port's 35,000 requests per 5 minutes for bulk writes and for searches (20 entities per
  bulk request); us-east-1 prices of Lambda (x86, per GB-second and per request), SQS (standard,
  per request), DynamoDB on demand (per write request unit; a transactional write costs two), S3
  (per PUT and GET); Cloud Control's reads of AWS types cost nothing of their own. Cloud Control
  publishes no request quota; the underlying service's read quota applies per account and region
  (Lambda's GetFunction: 100 per second);
- assumed (not measurable here, flags to change them): AWS's latency per GetResource, per list
  page and per bookkeeping call, the estate's shape (accounts, regions, kinds, the largest shard),
  and the share of entities that change between two syncs.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass

# Published limits and prices (the README's model cites the pages).
LAMBDA_TIMEOUT_S = 900
LAMBDA_ACCOUNT_CONCURRENCY = 1_000
ESM_START_BATCHES = 5
ESM_ADDED_PER_MINUTE = 300
ESM_MAX_BATCHES = 1_000
PORT_REQUESTS_PER_5_MIN = 35_000
PORT_ENTITIES_PER_BULK = 20
LAMBDA_GB_SECOND_USD = 0.0000166667
LAMBDA_REQUEST_USD = 0.20 / 1e6
SQS_REQUEST_USD = 0.40 / 1e6
DYNAMODB_WRITE_UNIT_USD = 0.625 / 1e6
S3_PUT_USD = 0.005 / 1_000
S3_GET_USD = 0.0004 / 1_000
# A DynamoDB partition serves at most 1,000 write units a second; a run's items share one key.
PARTITION_WRITE_UNITS_PER_S = 1_000

# Measured on this machine (one exporter process against the local stack).
CPU_PER_READ_MS = 1.45  # bench_sharded_sync.py, GetResource variant: 1.37-1.45 ms per resource
CPU_PER_LISTED_MS = 0.17  # bench_sharded_sync.py, useListProperties: 0.14-0.17 ms per resource
# bench_sharded.py, 1,000 shards: 10.19 s to plan, 9.57 s of it the local AWS's CPU.
PLAN_CPU_PER_SHARD_MS = 0.62
# The template's values.
FUNCTION_MEMORY_GB = 2.0
READ_CONCURRENCY = 8  # sync.full_sync.DEFAULT_READ_CONCURRENCY
STALE_SEARCH_PAGE = 1_000  # sync.full_sync.STALE_SEARCH_PAGE_SIZE


@dataclass(frozen=True)
class Estate:
    resources: int
    accounts: int
    regions: int
    kinds: int
    largest_shard: int

    @property
    def shards(self) -> int:
        return self.accounts * self.regions * self.kinds

    @property
    def scopes(self) -> int:
        return self.accounts * self.kinds


@dataclass(frozen=True)
class Assumptions:
    read_latency_ms: float
    list_page_latency_ms: float
    list_page_size: int
    call_latency_ms: float
    port_call_latency_ms: float
    concurrency: int
    changed_share: float
    service_read_quota: float
    planner_threads: int


@dataclass
class Outcome:
    variant: str
    resources: int
    shards: int
    per_shard_rate: float
    rate_bound_by: str
    plan_seconds: float
    shards_seconds: dict[str, float]
    port_first_seconds: float
    port_change_only_seconds: float
    wall_first_minutes: float
    first_bound_by: str
    wall_change_only_minutes: float
    change_only_bound_by: str
    lambda_gb_seconds: float
    cost_usd: dict[str, float]


def ramped_seconds(work_seconds: float, concurrency: int) -> float:
    """Seconds for `work_seconds` of Lambda time under the SQS mapping's ramp to `concurrency`."""
    ceiling = min(concurrency, ESM_MAX_BATCHES, LAMBDA_ACCOUNT_CONCURRENCY)
    running, elapsed, done, step = float(ESM_START_BATCHES), 0.0, 0.0, 1.0
    while done + min(running, ceiling) * step < work_seconds:
        done += min(running, ceiling) * step
        elapsed += step
        running += ESM_ADDED_PER_MINUTE / 60 * step
    return elapsed + (work_seconds - done) / min(running, ceiling)


def model(estate: Estate, assume: Assumptions, variant: str) -> Outcome:
    shards = estate.shards
    if variant == "get":
        cpu_rate = 1000 / CPU_PER_READ_MS
        bounds = {
            "exporter CPU": cpu_rate,
            f"{READ_CONCURRENCY} reads in flight / latency": READ_CONCURRENCY * 1000 / assume.read_latency_ms,
            "the service's read quota": assume.service_read_quota,
        }
    else:
        bounds = {
            "exporter CPU": 1000 / CPU_PER_LISTED_MS,
            "list pages / latency": assume.list_page_size * 1000 / assume.list_page_latency_ms,
        }
    rate_bound_by, rate = min(bounds.items(), key=lambda item: item[1])
    # A shard's own calls: its start, its identifiers' S3 object, its finishing transaction, and
    # Port's token and blueprint reads; the mapping deletes its message.
    shard_overhead = 3 * assume.call_latency_ms / 1000 + 2 * assume.port_call_latency_ms / 1000
    lambda_seconds = estate.resources / rate + shards * shard_overhead
    # The planner, in one invocation: each account opened (role and regions: two calls), then the
    # run's items 25 to a BatchWriteItem and its messages 10 to a SendMessageBatch, on
    # `planner_threads` threads, no faster than the run's partition takes the items.
    plan_writes = (shards / 25 + shards / 10) * assume.call_latency_ms / 1000 / assume.planner_threads
    plan_seconds = (
        estate.accounts * 2 * assume.call_latency_ms / 1000
        + max(plan_writes, (shards + estate.scopes) / PARTITION_WRITE_UNITS_PER_S)
        + shards * PLAN_CPU_PER_SHARD_MS / 1000
    )
    # DynamoDB write units per shard: its start, and the finishing transaction (the shard and its
    # scope's counter, two units each); per scope: its claim and its finish.
    write_units = shards * (1 + 2 * 2) + estate.scopes * 2
    shards_seconds = {
        "shards at the mapping's concurrency": ramped_seconds(lambda_seconds, assume.concurrency),
        "the run table's one partition": write_units / PARTITION_WRITE_UNITS_PER_S,
    }
    shards_seconds["the largest shard"] = estate.largest_shard / rate
    port_rate = PORT_REQUESTS_PER_5_MIN / 300  # requests per second, the organisation's whole budget
    port_first = estate.resources / PORT_ENTITIES_PER_BULK / port_rate
    written = estate.resources * assume.changed_share
    port_change_only = max(written / PORT_ENTITIES_PER_BULK, estate.resources / STALE_SEARCH_PAGE) / port_rate
    first_bound, first = max({**shards_seconds, "Port's budget": port_first}.items(), key=lambda item: item[1])
    again_bound, again = max({**shards_seconds, "Port's budget": port_change_only}.items(), key=lambda item: item[1])
    gb_seconds = (lambda_seconds + plan_seconds) * FUNCTION_MEMORY_GB
    write_units += shards + estate.scopes  # the planner's items
    sqs_requests = shards * (1 / 10 + 1 + 1)
    cost = {
        "lambda_duration": gb_seconds * LAMBDA_GB_SECOND_USD,
        "lambda_requests": (shards + 1) * LAMBDA_REQUEST_USD,
        "sqs": sqs_requests * SQS_REQUEST_USD,
        "dynamodb": write_units * DYNAMODB_WRITE_UNIT_USD,
        "s3": shards * (S3_PUT_USD + S3_GET_USD),
    }
    cost["total"] = sum(cost.values())
    return Outcome(
        variant=variant,
        resources=estate.resources,
        shards=shards,
        per_shard_rate=round(rate, 1),
        rate_bound_by=rate_bound_by,
        plan_seconds=round(plan_seconds, 1),
        shards_seconds={name: round(value, 1) for name, value in shards_seconds.items()},
        port_first_seconds=round(port_first, 1),
        port_change_only_seconds=round(port_change_only, 1),
        wall_first_minutes=round((plan_seconds + first) / 60, 1),
        first_bound_by=first_bound,
        wall_change_only_minutes=round((plan_seconds + again) / 60, 1),
        change_only_bound_by=again_bound,
        lambda_gb_seconds=round(gb_seconds),
        cost_usd={name: round(value, 2) for name, value in cost.items()},
    )


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--read-latency-ms", type=float, default=100.0, help="assumed: one GetResource on AWS")
    parser.add_argument("--list-page-latency-ms", type=float, default=250.0, help="assumed: one ListResources page")
    parser.add_argument("--list-page-size", type=int, default=25, help="resources per page (some types give 25)")
    parser.add_argument("--call-latency-ms", type=float, default=20.0, help="assumed: DynamoDB/S3/SQS/STS call")
    parser.add_argument("--port-call-latency-ms", type=float, default=150.0, help="assumed: one Port API call")
    parser.add_argument("--concurrency", type=int, default=100, help="the tasks mapping's MaximumConcurrency")
    parser.add_argument("--changed-share", type=float, default=0.01, help="assumed: entities changed between syncs")
    parser.add_argument("--service-read-quota", type=float, default=100.0, help="published: per account and region")
    parser.add_argument("--planner-threads", type=int, default=8, help="the planner's writers (run_store.PLAN_WRITERS)")
    parser.add_argument("--regions", type=int, default=17)
    parser.add_argument("--kinds", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="one JSON document instead of the table")
    return parser.parse_args()


def main() -> None:
    arguments = _arguments()
    assume = Assumptions(
        read_latency_ms=arguments.read_latency_ms,
        list_page_latency_ms=arguments.list_page_latency_ms,
        list_page_size=arguments.list_page_size,
        call_latency_ms=arguments.call_latency_ms,
        port_call_latency_ms=arguments.port_call_latency_ms,
        concurrency=arguments.concurrency,
        changed_share=arguments.changed_share,
        service_read_quota=arguments.service_read_quota,
        planner_threads=arguments.planner_threads,
    )
    estates = [
        Estate(1_000_000, accounts=200, regions=arguments.regions, kinds=arguments.kinds, largest_shard=20_000),
        Estate(10_000_000, accounts=2_000, regions=arguments.regions, kinds=arguments.kinds, largest_shard=50_000),
    ]
    outcomes = [model(estate, assume, variant) for estate in estates for variant in ("get", "list")]
    if arguments.json:
        print(json.dumps({"assumptions": asdict(assume), "outcomes": [asdict(o) for o in outcomes]}, indent=2))
        return
    print(f"assumed: {asdict(assume)}")
    for o in outcomes:
        print(
            f"\n{o.resources:,} resources, {o.variant}: {o.shards:,} shards at {o.per_shard_rate} resources/s each"
            f" (bound by {o.rate_bound_by})"
        )
        over = " (longer than one invocation's 900 s: the schedule's plan would time out)"
        print(f"  planner: {o.plan_seconds} s{over if o.plan_seconds > LAMBDA_TIMEOUT_S else ''}")
        for name, seconds in o.shards_seconds.items():
            print(f"  {name}: {seconds} s")
        print(f"  Port's budget: first sync {o.port_first_seconds} s, change-only {o.port_change_only_seconds} s")
        print(f"  wall, first sync: {o.wall_first_minutes} min (bound by {o.first_bound_by})")
        print(f"  wall, change-only sync: {o.wall_change_only_minutes} min (bound by {o.change_only_bound_by})")
        parts = ", ".join(f"{name} {value}" for name, value in o.cost_usd.items() if name != "total")
        print(f"  cost of one run: {o.cost_usd['total']} USD ({parts}); Lambda {o.lambda_gb_seconds:,} GB-s")


if __name__ == "__main__":
    main()
