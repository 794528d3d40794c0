"""The local catalog's web page: how long each page takes to answer over a catalog of N entities.

    .venv/bin/python benchmarks/bench_catalog_page.py            # 10,000 entities, 7 runs per page
    .venv/bin/python benchmarks/bench_catalog_page.py --quick    # 2,000 entities, 5 runs

The catalog runs as its own process (`catalog serve`), as for the demo. One blueprint holds the N
entities (Lambda-like, ~0.6 KB each, each related to one of two regions). Each figure is the median
wall time of one GET, as a browser would send it; the API's own search of one page of 50 (and that
search with the text filter the table is given) is timed in the same run, for a ratio that does not
depend on how busy the machine is.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from port_aws_exporter.core.entity_filter import filter_query
from port_aws_exporter.local.catalog import CatalogDatabase, CatalogService, WriteMode, WriteOptions, Writer
from served_process import served

MEMORY_OVER_512 = '{"property": "memorySize", "operator": ">", "value": 512}'
CLIENT_ID = "bench"
CLIENT_SECRET = "bench-secret"
WRITER = Writer(CLIENT_ID, "port-aws-exporter/0.1.0 (accountid/123456789012 region/us-east-1)")
REGION: dict[str, Any] = {"identifier": "benchRegion", "title": "Region", "schema": {"properties": {}}}
BLUEPRINT: dict[str, Any] = {
    "identifier": "benchLambda",
    "title": "Bench Lambda",
    "schema": {
        "properties": {
            "arn": {"type": "string"},
            "description": {"type": "string"},
            "runtime": {"type": "string"},
            "memorySize": {"type": "number"},
            "timeout": {"type": "number"},
            "architectures": {"type": "array"},
            "tags": {"type": "array"},
            "link": {"type": "string", "format": "url"},
        }
    },
    "relations": {"region": {"target": "benchRegion", "many": False, "required": False}},
}


def _entity(number: int) -> dict[str, Any]:
    region = ("us-east-1", "eu-west-1")[number % 2]
    arn = f"arn:aws:lambda:{region}:123456789012:function:fn-{number:05d}"
    return {
        "identifier": f"fn-{number:05d}",
        "title": f"Function {number}",
        "properties": {
            "arn": arn,
            "description": f"Benchmark function number {number}, doing its part",
            "runtime": ("python3.12", "nodejs20.x", "java21")[number % 3],
            "memorySize": 128 * (1 + number % 8),
            "timeout": 30,
            "architectures": ["arm64"],
            "tags": [{"Key": "team", "Value": f"team-{number % 7}"}, {"Key": "env", "Value": "bench"}],
            "link": f"https://console.aws.amazon.com/go/view?arn={arn}",
        },
        "relations": {"region": region},
    }


def _fill(db_path: Path, count: int) -> None:
    service = CatalogService(CatalogDatabase(db_path))
    service.create_blueprint(REGION, WRITER)
    service.create_blueprint(BLUEPRINT, WRITER)
    merge = WriteOptions(WriteMode.MERGE)
    regions = [{"identifier": name, "title": name} for name in ("us-east-1", "eu-west-1")]
    service.bulk_write("benchRegion", {"entities": regions}, merge, WRITER)
    for start in range(0, count, 20):
        chunk = [_entity(number) for number in range(start, min(start + 20, count))]
        service.bulk_write("benchLambda", {"entities": chunk}, merge, WRITER)
    service.database.close()


def _median_ms(client: httpx.Client, runs: int, method: str, path: str, **options: Any) -> float:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.request(method, path, **options)
        seconds.append(time.perf_counter() - started)
        response.raise_for_status()
    return statistics.median(seconds) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 entities, 5 runs per page")
    parser.add_argument("--entities", type=int, help="how many entities (default 10,000; 2,000 with --quick)")
    arguments = parser.parse_args()
    count = arguments.entities or (2_000 if arguments.quick else 10_000)
    runs = 5 if arguments.quick else 7
    with tempfile.TemporaryDirectory(prefix="bench-catalog-page-") as directory:
        db_path = Path(directory) / "catalog.db"
        started = time.perf_counter()
        _fill(db_path, count)
        print(f"catalog of {count} entities written in {time.perf_counter() - started:.1f} s; {runs} runs per page")
        command = ["catalog", "serve", "--db", str(db_path), "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET]
        with served(command) as catalog, httpx.Client(base_url=catalog.url, timeout=120) as client:
            token = client.post("/v1/auth/access_token", json={"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET})
            headers = {"Authorization": f"Bearer {token.json()['accessToken']}"}
            last_page = -(-count // 50)
            pages = {
                "blueprints (front page)": "/",
                "table, page 1 of 50 rows": "/blueprints/benchLambda",
                f"table, last page ({last_page})": f"/blueprints/benchLambda?page={last_page}",
                "table, text filter (1 match)": "/blueprints/benchLambda?q=fn-00042",
                "table, Port query filter": f"/blueprints/benchLambda?q={MEMORY_OVER_512}",
                "table, by recently updated": "/blueprints/benchLambda?sort=-updatedAt",
                "entity page": "/blueprints/benchLambda/entities/fn-00042",
                "search, every blueprint": "/search?q=fn-0004",
                "auto-refresh poll (/_page/version)": "/_page/version",
            }
            client.get("/")  # warm up: templates compiled, connections open
            api_ms = _median_ms(
                client, runs, "POST", "/v1/blueprints/benchLambda/entities/search", json={"limit": 50}, headers=headers
            )
            print(f"{'API: POST .../entities/search, 50 entities':45s} {api_ms:9.1f} ms")
            # The search behind a filter that matches 1 entity reads every entity, on the API as on the page.
            one_match = {"query": filter_query("fn-00042", [BLUEPRINT]), "limit": 50}
            search_ms = _median_ms(
                client, runs, "POST", "/v1/blueprints/benchLambda/entities/search", json=one_match, headers=headers
            )
            print(f"{'API: the same search, text filter (1 match)':45s} {search_ms:9.1f} ms")
            for label, path in pages.items():
                page_ms = _median_ms(client, runs, "GET", path)
                print(f"{label:45s} {page_ms:9.1f} ms   ({page_ms / api_ms:5.1f}x the API page)")


if __name__ == "__main__":
    main()
