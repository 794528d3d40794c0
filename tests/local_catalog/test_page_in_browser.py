"""The catalog's page in a real browser, as a user of `demo --serve` sees it.

One `demo --serve` process for the module (the demo world synced into a catalog, the live changes
made, everything kept up), one headless Chromium; each test opens the pages it checks. Screenshots
go to pytest's tmp_path (never into git).
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from port_aws_exporter.local.aws import make_change

# The first test also waits for Chromium to be installed (on a fresh machine) and for the demo.
pytestmark = pytest.mark.timeout(900)

PROJECT = Path(__file__).resolve().parents[2]
DEMO_START_TIMEOUT_SECONDS = 240.0
STOP_TIMEOUT_SECONDS = 60.0
_PAGE_LINE = re.compile(r"The catalog's page: (http://\S+)/")
_CHANGE_LINE = re.compile(r"--endpoint-url (http://\S+) --region (\S+)")


@dataclass(frozen=True)
class ServedDemo:
    url: str
    aws_url: str
    region: str
    db_path: Path
    output: list[str]


@pytest.fixture(scope="module")
def served_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedDemo]:
    """`port-aws-exporter demo --serve`, run as a user runs it, until the module is done."""
    db_path = tmp_path_factory.mktemp("demo") / "demo-catalog.db"
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("PORT_", "AWS_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "port_aws_exporter", "demo", "--catalog-db", str(db_path), "--serve"],
        cwd=PROJECT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output: list[str] = []
    page_url = aws_url = region = None
    deadline = time.monotonic() + DEMO_START_TIMEOUT_SECONDS
    try:
        while time.monotonic() < deadline and "Serving until Ctrl-C." not in output[-1:]:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line.rstrip("\n"))
            if match := _PAGE_LINE.search(line):
                page_url = match.group(1)
            if match := _CHANGE_LINE.search(line):
                aws_url, region = match.group(1), match.group(2)
        assert page_url and aws_url and region, "demo --serve printed no page URL:\n" + "\n".join(output)
        yield ServedDemo(page_url, aws_url, region, db_path, output)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            rest, _ = process.communicate(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
    assert process.returncode == 0, "\n".join([*output, rest])
    assert "stopped serving" in rest


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    tab = browser.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    tab.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def _counts_in(db_path: Path) -> dict[str, int]:
    """Entity counts per blueprint, read from the database file itself (read-only)."""
    with sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True) as connection:
        blueprints = [row[0] for row in connection.execute("SELECT identifier FROM blueprints")]
        counts = dict(connection.execute("SELECT blueprint, count(*) FROM entities GROUP BY blueprint").fetchall())
    return {blueprint: int(counts.get(blueprint, 0)) for blueprint in blueprints}


def _screenshot(page: Any, path: Path) -> tuple[int, int]:
    """A full-page screenshot; its size in pixels (read from the PNG header)."""
    page.screenshot(path=str(path), full_page=True)
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return int(width), int(height)


def test_the_blueprints_page_lists_the_demo_blueprints_with_their_counts(
    served_demo: ServedDemo, page: Any, tmp_path: Path
) -> None:
    page.goto(f"{served_demo.url}/")
    rows = page.locator("#blueprints tbody tr")
    shown = {row.get_attribute("data-blueprint"): int(row.locator("td.count").inner_text()) for row in rows.all()}
    assert shown == _counts_in(served_demo.db_path)
    # The demo world's numbers (README): per account and region 4 functions, 2 topics, 2 services; the
    # demo's organisation has three accounts and two regions.
    assert {name: shown[name] for name in ("awsLambdaFunction", "awsSnsTopic", "awsEcsService", "awsRegion")} == {
        "awsLambdaFunction": 24,
        "awsSnsTopic": 12,
        "awsEcsService": 12,
        "awsRegion": 2,
    }
    assert len(shown) == 17
    assert page.title() == "Blueprints · Local catalog"
    width, height = _screenshot(page, tmp_path / "blueprints.png")
    assert width == 1280 and height > 900  # seventeen rows: longer than one screen
    assert (tmp_path / "blueprints.png").stat().st_size > 30_000


def test_relations_are_links_both_ways(served_demo: ServedDemo, page: Any, tmp_path: Path) -> None:
    # SNS topic -> SQS queue, and back through "Related from".
    page.goto(f"{served_demo.url}/blueprints/awsSnsTopic")
    page.get_by_role("link", name="demo-order-events-us-east-1", exact=True).click()
    assert page.locator("#entity-title").inner_text() == "demo-order-events-us-east-1"
    _screenshot(page, tmp_path / "sns-topic.png")
    queues = page.locator('#relations [data-relation="queues"] ul.links a')
    assert sorted(queues.all_inner_texts()) == ["demo-orders-us-east-1", "demo-payments-us-east-1"]
    queues.filter(has_text="demo-orders-us-east-1").click()
    assert page.locator("#entity-title").inner_text() == "demo-orders-us-east-1"
    assert page.url.endswith("/blueprints/awsSqsQueue/entities/demo-orders-us-east-1")
    back = page.locator('#related-from [data-relation="awsSnsTopic.queues"] ul.links a')
    assert back.all_inner_texts() == ["demo-order-events-us-east-1"]
    back.click()
    assert page.locator("#entity-title").inner_text() == "demo-order-events-us-east-1"

    # Lambda function -> layer (an identifier with ':' in it), and the layer's functions.
    page.goto(f"{served_demo.url}/blueprints/awsLambdaFunction/entities/demo-orders-api-us-east-1")
    page.locator('#relations [data-relation="layers"] ul.links a').click()
    assert page.locator("#entity-title").inner_text() == "demo-shared-libs"
    assert "arn:aws:lambda:us-east-1:123456789012:layer:demo-shared-libs" in page.locator(".summary code").inner_text()
    functions = page.locator('#related-from [data-relation="awsLambdaFunction.layers"] ul.links a').all_inner_texts()
    assert "demo-orders-api-us-east-1" in functions
    _screenshot(page, tmp_path / "lambda-layer.png")

    # ECS service -> cluster, from the service table's Cluster column.
    page.goto(f"{served_demo.url}/blueprints/awsEcsService")
    page.locator('tr[data-identifier="demo-web-eu-west-1"] a', has_text="demo-cluster-eu-west-1").click()
    assert page.locator("#entity-title").inner_text() == "demo-cluster-eu-west-1"
    services = page.locator('#related-from [data-relation="awsEcsService.cluster"] ul.links a').all_inner_texts()
    assert sorted(services) == ["demo-web-eu-west-1", "demo-worker-eu-west-1"]
    assert "accountid/123456789012 region/us-east-1" in page.locator("#datasource").inner_text()
    width, _height = _screenshot(page, tmp_path / "ecs-cluster.png")
    assert width == 1280
    assert (tmp_path / "ecs-cluster.png").stat().st_size > 30_000


def test_the_filter_narrows_the_table(served_demo: ServedDemo, page: Any, tmp_path: Path) -> None:
    page.goto(f"{served_demo.url}/blueprints/awsLambdaFunction")
    rows = page.locator("#entities tbody tr")
    assert rows.count() == 24
    page.locator("#filter").fill("python3.12")
    page.locator("#filter").press("Enter")
    page.wait_for_url("**q=python3.12**")
    assert sorted(row.get_attribute("data-identifier") for row in rows.all()) == [
        "demo-orders-api-eu-west-1",
        "demo-orders-api-us-east-1",
        "team-a-orders-api-eu-west-1",
        "team-a-orders-api-us-east-1",
        "team-b-orders-api-eu-west-1",
        "team-b-orders-api-us-east-1",
    ]
    assert page.locator("#counts").inner_text().startswith("6 of 24 entities match")
    _screenshot(page, tmp_path / "filtered.png")
    # A Port query works in the same box; the account select narrows by $datasource.
    page.locator("#filter").fill('{"property": "memorySize", "operator": ">=", "value": 2048}')
    page.locator("#filter").press("Enter")
    page.wait_for_load_state()
    assert rows.count() == 12
    page.select_option('select[name="account"]', "123456789012")  # submits the form by itself
    page.wait_for_url("**account=123456789012**")
    assert rows.count() == 4


def test_search_uses_the_api_search_rules(served_demo: ServedDemo, page: Any, tmp_path: Path) -> None:
    page.goto(f"{served_demo.url}/")
    page.get_by_role("searchbox", name="Search every blueprint").fill("demo-orders-us-east-1")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=**")
    groups = {group.get_attribute("data-blueprint") for group in page.locator(".result-group").all()}
    assert groups == {"awsSqsQueue", "awsDynamoDbTable"}
    _screenshot(page, tmp_path / "search.png")
    page.goto(f"{served_demo.url}/search?q=%7Bnot-json")
    assert "not JSON" in page.locator(".error").inner_text()


def test_a_live_change_appears_without_reloading_by_hand(served_demo: ServedDemo, page: Any, tmp_path: Path) -> None:
    page.goto(f"{served_demo.url}/blueprints/awsSqsQueue?sort=-updatedAt")
    assert page.locator('tr[data-identifier="demo-watched-jobs"]').count() == 0
    make_change(served_demo.aws_url, "AWS::SQS::Queue", "create", "demo-watched-jobs", region=served_demo.region)
    # The rule's event reaches the worker, the worker the catalog, and the page reloads itself.
    row = page.locator('tr[data-identifier="demo-watched-jobs"]')
    row.wait_for(timeout=30_000)
    assert row.get_attribute("class") == "fresh"
    assert page.locator("#entities tbody tr").first.get_attribute("data-identifier") == "demo-watched-jobs"
    _screenshot(page, tmp_path / "live.png")
